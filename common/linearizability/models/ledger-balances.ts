import assert from 'node:assert/strict';
import type { Model } from '../checker.ts';

/**
 * The ledger as seen through the query API, as a sequential specification.
 *
 * Assumptions:
 * - Every account in the history exists before the history starts, with all counters at zero.
 *   A read answering `notFound` is therefore never legal.
 * - A transfer moves `amount` from `debitAccountId` (debitsPosted += amount) to `creditAccountId`
 *   (creditsPosted += amount) when it takes effect. No balance limits, ledgers, pending or linked
 *   transfers are modelled.
 * - Idempotency: a transfer id takes effect at most once. `created` is legal only if the id has not
 *   taken effect yet (it takes effect now); `exists` is legal either way (if the id has not taken
 *   effect yet, it takes effect now: some earlier attempt created it); an unknown outcome is
 *   applied if the id has not taken effect (the checker also considers it never taking effect).
 *   When several operations share an id they are assumed to carry the same accounts and amount.
 * - Any other status (an error code such as `insufficient_funds`) means the request had no
 *   effect. The model cannot judge whether the rejection was right (it knows no limits).
 * - Reads see posted counters only, exactly (a linearizable, i.e. strong-consistency, read).
 * - Not partitioned: a transfer touches two accounts, so accounts are not independent.
 *
 * The state hash covers balances only: which transfer ids have taken effect is a function of the
 * set of linearized operations (exactly those linearized with status created, exists or unknown),
 * which the checker already keys its memo on.
 */
export type LedgerInput =
  | { op: 'transfer'; id: string; debitAccountId: string; creditAccountId: string; amount: bigint }
  | { op: 'read'; accountId: string };

export type TransferStatus = 'created' | 'exists' | (string & {});

export type LedgerOutput =
  | { status: TransferStatus }
  | { debitsPosted: bigint; creditsPosted: bigint }
  | { notFound: true };

export interface PostedCounters {
  readonly debitsPosted: bigint;
  readonly creditsPosted: bigint;
}

export interface LedgerState {
  /** Accounts touched so far; every other account is at zero. */
  readonly balances: ReadonlyMap<string, PostedCounters>;
  readonly appliedTransferIds: ReadonlySet<string>;
}

const zero: PostedCounters = { debitsPosted: 0n, creditsPosted: 0n };

export const ledgerBalancesModel: Model<LedgerState, LedgerInput, LedgerOutput> = {
  init: () => ({ balances: new Map(), appliedTransferIds: new Set() }),

  step(state, input, output) {
    switch (input.op) {
      case 'transfer': {
        assert(input.amount > 0n, 'a transfer amount is positive');
        assert(input.debitAccountId !== input.creditAccountId, 'a transfer needs two different accounts');
        const applied = state.appliedTransferIds.has(input.id);
        if (output === undefined) return { ok: true, state: applied ? state : applyTransfer(state, input) };
        assert('status' in output, 'a transfer answers with a status');
        switch (output.status) {
          case 'created':
            return applied ? { ok: false, state } : { ok: true, state: applyTransfer(state, input) };
          case 'exists':
            return { ok: true, state: applied ? state : applyTransfer(state, input) };
          default:
            return { ok: true, state };
        }
      }
      case 'read': {
        if (output === undefined) return { ok: true, state };
        if ('notFound' in output) return { ok: false, state };
        assert('debitsPosted' in output, 'a read answers with counters or notFound');
        const counters = state.balances.get(input.accountId) ?? zero;
        const ok = counters.debitsPosted === output.debitsPosted && counters.creditsPosted === output.creditsPosted;
        return { ok, state };
      }
      default: {
        const _exhaustive: never = input;
        return _exhaustive;
      }
    }
  },

  hash(state) {
    const accountIds = [...state.balances.keys()].sort();
    return accountIds
      .map((accountId) => {
        const counters = state.balances.get(accountId) ?? zero;
        return `${accountId}:${counters.debitsPosted}/${counters.creditsPosted}`;
      })
      .join(',');
  },

  describe(input, output) {
    switch (input.op) {
      case 'transfer': {
        const result = output === undefined ? 'unknown' : 'status' in output ? output.status : JSON.stringify(output);
        return `transfer ${input.id}: ${input.amount} from ${input.debitAccountId} to ${input.creditAccountId} -> ${result}`;
      }
      case 'read': {
        const result = output === undefined
          ? 'unknown'
          : 'notFound' in output
            ? 'not found'
            : 'debitsPosted' in output
              ? `debitsPosted ${output.debitsPosted}, creditsPosted ${output.creditsPosted}`
              : `status ${output.status}`;
        return `read ${input.accountId} -> ${result}`;
      }
      default: {
        const _exhaustive: never = input;
        return _exhaustive;
      }
    }
  },
};

function applyTransfer(
  state: LedgerState,
  transfer: { id: string; debitAccountId: string; creditAccountId: string; amount: bigint },
): LedgerState {
  const balances = new Map(state.balances);
  const debit = balances.get(transfer.debitAccountId) ?? zero;
  balances.set(transfer.debitAccountId, { ...debit, debitsPosted: debit.debitsPosted + transfer.amount });
  const credit = balances.get(transfer.creditAccountId) ?? zero;
  balances.set(transfer.creditAccountId, { ...credit, creditsPosted: credit.creditsPosted + transfer.amount });
  const appliedTransferIds = new Set(state.appliedTransferIds);
  appliedTransferIds.add(transfer.id);
  return { balances, appliedTransferIds };
}
