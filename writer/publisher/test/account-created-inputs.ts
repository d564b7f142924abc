/** Test support: simple committed AccountCreated events as the writer node would hand them out. */
import type { EnvelopeInput } from '../../../common/events/envelope.ts';

export interface AccountCreatedInputOptions {
  readonly shard: number;
  /** Distinguishes histories that diverge after a common prefix (e.g. a deposed leader's). */
  readonly commandIdPrefix?: string;
  readonly startMs?: number;
}

export function accountCreatedInput(seq: number, options: AccountCreatedInputOptions): EnvelopeInput {
  const prefix = options.commandIdPrefix ?? 'c';
  return {
    shard: options.shard,
    seq,
    raftIndex: seq + 10,
    raftTerm: 1,
    commandId: `${prefix}${seq}`,
    eventIndex: 0,
    occurredAtMs: (options.startMs ?? Date.UTC(2026, 10, 22)) + seq,
    event: {
      type: 'AccountCreated',
      data: { id: `${prefix}-account-${seq}`, ledger: 1, code: 10, flags: { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false }, userData: undefined },
    },
  };
}

/** Events with seq `first`..`last` inclusive. */
export function accountCreatedInputs(first: number, last: number, options: AccountCreatedInputOptions): EnvelopeInput[] {
  const inputs: EnvelopeInput[] = [];
  for (let seq = first; seq <= last; seq += 1) inputs.push(accountCreatedInput(seq, options));
  return inputs;
}
