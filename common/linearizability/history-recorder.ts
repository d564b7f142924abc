import assert from 'node:assert/strict';
import type { Operation } from './checker.ts';

/** Upper bound on the operations one recorder holds. */
export const recordedOperationsMax = 1_000_000;

/** Handle for an invoked operation, returned by `invoke` and passed back to `complete`/`unknown`. */
export interface InvokedOperation {
  readonly index: number;
}

interface RecordedEntry<Input, Output> {
  readonly clientId: number;
  readonly input: Input;
  readonly call: number;
  completion: { output: Output; return: number } | 'unknown' | 'pending';
}

/**
 * Records a client history for `checkLinearizability` from a real (or simulated) run:
 * `invoke` before sending a request, then `complete` with the answer, or `unknown` when the
 * outcome cannot be known (timeout, connection lost). Operations still pending when `history()`
 * is called are reported with an unknown outcome.
 */
export class HistoryRecorder<Input, Output> {
  readonly #clock: () => number;
  readonly #records: RecordedEntry<Input, Output>[] = [];

  constructor(clock: () => number = () => performance.now()) {
    this.#clock = clock;
  }

  invoke(clientId: number, input: Input): InvokedOperation {
    assert(this.#records.length < recordedOperationsMax, 'too many operations recorded');
    const call = this.#clock();
    assert(Number.isFinite(call), 'the clock returned a non-finite time');
    this.#records.push({ clientId, input, call, completion: 'pending' });
    return { index: this.#records.length - 1 };
  }

  complete(operation: InvokedOperation, output: Output): void {
    const record = this.#pending(operation);
    const returnTime = this.#clock();
    assert(returnTime >= record.call, 'the clock went backwards');
    record.completion = { output, return: returnTime };
  }

  unknown(operation: InvokedOperation): void {
    this.#pending(operation).completion = 'unknown';
  }

  history(): Operation<Input, Output>[] {
    return this.#records.map((record) => {
      const { clientId, input, call, completion } = record;
      if (completion === 'pending' || completion === 'unknown') {
        return { clientId, input, output: undefined, call, return: Infinity };
      }
      return { clientId, input, output: completion.output, call, return: completion.return };
    });
  }

  #pending(operation: InvokedOperation): RecordedEntry<Input, Output> {
    const record = this.#records[operation.index];
    assert(record !== undefined, 'not an operation of this recorder');
    assert(record.completion === 'pending', 'operation already completed');
    return record;
  }
}
