import assert from 'node:assert/strict';
import { explainIllegal } from './explanation.ts';
import { searchPartition } from './partition-search.ts';

/**
 * One client operation as observed from outside the system under test.
 * `call` and `return` are timestamps on one clock (logical or real). An operation precedes another
 * only if its `return` is strictly less than the other's `call`; equal timestamps mean concurrent.
 */
export interface Operation<Input, Output> {
  clientId: number;
  input: Input;
  /** undefined = outcome unknown (timed out): may have taken effect at any time after `call`, or never. */
  output: Output | undefined;
  call: number;
  /** Infinity when the outcome is unknown. */
  return: number;
}

/** A sequential specification of the object under test. */
export interface Model<State, Input, Output> {
  init(): State;
  /**
   * Applies `input` to `state` and says whether `output` is what the specification allows.
   * With `output === undefined` (unknown outcome) it must accept and apply the effect; the checker
   * separately considers the operation never taking effect. Must not mutate `state`; must return
   * the very `state` object it was given when the operation has no effect (reads, rejections),
   * which the checker uses to prune its search.
   */
  step(state: State, input: Input, output: Output | undefined): { ok: boolean; state: State };
  /**
   * Memo key of a state. It must tell apart any two states reachable with the same set of
   * linearized operations (a full serialization always qualifies).
   */
  hash(state: State): string;
  /** Splits the history into independent parts (P-compositionality), each checked on its own. */
  partition?(history: Operation<Input, Output>[]): Operation<Input, Output>[][];
  /** One line describing an operation, for reports. */
  describe?(input: Input, output: Output | undefined): string;
}

export type CheckResult =
  | { outcome: 'ok' }
  | { outcome: 'illegal'; partition: number; longestPrefix: Operation<unknown, unknown>[]; explanation: string }
  | { outcome: 'unknown'; reason: 'timeout' };

export interface CheckOptions {
  /** Time budget for the whole check; past it the answer is `unknown`. Default `timeoutMsDefault`. */
  timeoutMs?: number;
  /** Milliseconds clock used for the budget. Default `performance.now`. */
  clock?: () => number;
}

export const timeoutMsDefault = 60_000;

/**
 * Decides whether `history` is linearizable with respect to `model`: Wing & Gong's search with
 * Lowe's just-in-time linearization, memoized on (linearized set, state hash), checked per
 * partition when the model can partition. An illegal partition is reported even when another
 * partition ran out of time, since one illegal part makes the whole history illegal.
 */
export function checkLinearizability<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult {
  const clock = options.clock ?? (() => performance.now());
  const timeoutMs = options.timeoutMs ?? timeoutMsDefault;
  assert(timeoutMs >= 0, 'timeoutMs must not be negative');
  history.forEach(assertWellFormed);
  const deadline = clock() + timeoutMs;

  const partitions = model.partition === undefined ? [history] : model.partition(history);
  const partitionedCount = partitions.reduce((sum, partition) => sum + partition.length, 0);
  assert.equal(partitionedCount, history.length, 'a partition must place every operation exactly once');

  let timedOut = false;
  for (const [index, partition] of partitions.entries()) {
    const result = searchPartition(model, partition, clock, deadline);
    switch (result.outcome) {
      case 'ok':
        break;
      case 'timeout':
        timedOut = true;
        break;
      case 'illegal': {
        const longestPrefix = result.longestPrefix.map((operationIndex) => {
          const operation = partition[operationIndex];
          assert(operation !== undefined);
          return operation as Operation<unknown, unknown>;
        });
        return {
          outcome: 'illegal',
          partition: index,
          longestPrefix,
          explanation: explainIllegal(model, partition, result.longestPrefix, index),
        };
      }
      default: {
        const _exhaustive: never = result;
        return _exhaustive;
      }
    }
  }
  return timedOut ? { outcome: 'unknown', reason: 'timeout' } : { outcome: 'ok' };
}

function assertWellFormed<I, O>(operation: Operation<I, O>): void {
  assert(Number.isFinite(operation.call), 'an operation needs a finite call time');
  assert(!Number.isNaN(operation.return), 'return time is NaN');
  assert(operation.return >= operation.call, 'an operation returns before it is called');
}
