import { compareExpiry, type ExpiryEntry } from './expiry-heap.ts';
import { isAwaitingExpiry, type LedgerState } from './ledger-state.ts';
import { counterMax } from './limits.ts';
import type { Transfer } from './transfer.ts';

/**
 * Full audit of a ledger state (O(accounts + transfers)); for tests, snapshots and operators.
 *
 * | code                                | what broke                                                              |
 * |-------------------------------------|-------------------------------------------------------------------------|
 * | `pending_totals_unbalanced`         | in a ledger, Σ debitsPending ≠ Σ creditsPending                         |
 * | `posted_totals_unbalanced`          | in a ledger, Σ debitsPosted ≠ Σ creditsPosted                           |
 * | `balance_flag_violated`             | an account breaks its debits/credits-must-not-exceed flag               |
 * | `counter_out_of_range`              | a counter is negative, or a pending+posted sum exceeds counterMax       |
 * | `counters_disagree_with_transfers`  | an account's counters differ from the sum of its transfers              |
 * | `pending_resolved_more_than_once`   | two posts/voids name the same pending transfer                          |
 * | `pending_resolution_inconsistent`   | a pending's status/resolvedBy and its post/void disagree                |
 * | `expiry_index_inconsistent`         | the expiry index differs from the pending transfers with a timeout      |
 */
export const violationCodes = [
  'pending_totals_unbalanced',
  'posted_totals_unbalanced',
  'balance_flag_violated',
  'counter_out_of_range',
  'counters_disagree_with_transfers',
  'pending_resolved_more_than_once',
  'pending_resolution_inconsistent',
  'expiry_index_inconsistent',
] as const;
export type ViolationCode = (typeof violationCodes)[number];

export interface Violation {
  readonly code: ViolationCode;
  readonly message: string;
}

interface Counters {
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

function zeroCounters(): Counters {
  return { debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 0n };
}

export function checkInvariants(state: LedgerState): Violation[] {
  const violations: Violation[] = [];
  const report = (code: ViolationCode, message: string): void => {
    violations.push({ code, message });
  };

  const totalsByLedger = new Map<number, Counters>();
  for (const account of state.accounts()) {
    let totals = totalsByLedger.get(account.ledger);
    if (totals === undefined) {
      totals = zeroCounters();
      totalsByLedger.set(account.ledger, totals);
    }
    totals.debitsPending += account.debitsPending;
    totals.debitsPosted += account.debitsPosted;
    totals.creditsPending += account.creditsPending;
    totals.creditsPosted += account.creditsPosted;
    const counters = [account.debitsPending, account.debitsPosted, account.creditsPending, account.creditsPosted];
    if (counters.some((value) => value < 0n) || account.debitsPending + account.debitsPosted > counterMax || account.creditsPending + account.creditsPosted > counterMax) {
      report('counter_out_of_range', `account ${account.id}`);
    }
    if (account.flags.debitsMustNotExceedCredits && account.debitsPending + account.debitsPosted > account.creditsPosted) {
      report('balance_flag_violated', `account ${account.id}: debits exceed credits`);
    }
    if (account.flags.creditsMustNotExceedDebits && account.creditsPending + account.creditsPosted > account.debitsPosted) {
      report('balance_flag_violated', `account ${account.id}: credits exceed debits`);
    }
  }
  for (const [ledger, totals] of totalsByLedger) {
    if (totals.debitsPending !== totals.creditsPending) {
      report('pending_totals_unbalanced', `ledger ${ledger}: debits ${totals.debitsPending} ≠ credits ${totals.creditsPending}`);
    }
    if (totals.debitsPosted !== totals.creditsPosted) {
      report('posted_totals_unbalanced', `ledger ${ledger}: debits ${totals.debitsPosted} ≠ credits ${totals.creditsPosted}`);
    }
  }

  const expected = new Map<string, Counters>();
  const countersOf = (id: string): Counters => {
    let counters = expected.get(id);
    if (counters === undefined) {
      counters = zeroCounters();
      expected.set(id, counters);
    }
    return counters;
  };
  const resolutionsByPending = new Map<string, number>();
  const awaitingExpiry = new Set<string>();
  for (const transfer of state.transfers()) {
    const debit = countersOf(transfer.debitAccountId);
    const credit = countersOf(transfer.creditAccountId);
    switch (transfer.kind) {
      case 'single_phase':
      case 'post_pending':
        debit.debitsPosted += transfer.amount;
        credit.creditsPosted += transfer.amount;
        break;
      case 'pending':
        if (transfer.pendingStatus === 'pending') {
          debit.debitsPending += transfer.amount;
          credit.creditsPending += transfer.amount;
        }
        break;
      case 'void_pending':
        break;
      default: {
        const _exhaustive: never = transfer.kind;
        throw new Error(`unknown transfer kind ${String(_exhaustive)}`);
      }
    }
    if (isAwaitingExpiry(transfer)) awaitingExpiry.add(transfer.id);
    if (transfer.kind === 'post_pending' || transfer.kind === 'void_pending') {
      const pendingId = transfer.pendingId ?? '';
      const count = (resolutionsByPending.get(pendingId) ?? 0) + 1;
      resolutionsByPending.set(pendingId, count);
      if (count > 1) report('pending_resolved_more_than_once', `pending ${pendingId}`);
      checkResolution(state, transfer, report);
    }
    if (transfer.kind === 'pending') checkPendingRecord(state, transfer, report);
  }
  for (const account of state.accounts()) {
    const counters = expected.get(account.id) ?? zeroCounters();
    if (
      counters.debitsPending !== account.debitsPending ||
      counters.debitsPosted !== account.debitsPosted ||
      counters.creditsPending !== account.creditsPending ||
      counters.creditsPosted !== account.creditsPosted
    ) {
      report('counters_disagree_with_transfers', `account ${account.id}`);
    }
    expected.delete(account.id);
  }
  for (const id of expected.keys()) report('counters_disagree_with_transfers', `transfers name missing account ${id}`);

  let previous: ExpiryEntry | undefined;
  let indexed = 0;
  for (const entry of state.pendingExpiriesInOrder()) {
    indexed += 1;
    const transfer = state.transfer(entry.id);
    if (transfer === undefined || !isAwaitingExpiry(transfer) || transfer.timeoutAt !== entry.timeoutAt || !awaitingExpiry.has(entry.id)) {
      report('expiry_index_inconsistent', `entry ${entry.id}`);
    }
    if (previous !== undefined && compareExpiry(previous, entry) >= 0) report('expiry_index_inconsistent', `order at ${entry.id}`);
    previous = entry;
  }
  if (indexed !== awaitingExpiry.size) report('expiry_index_inconsistent', `${indexed} indexed, ${awaitingExpiry.size} awaiting expiry`);
  return violations;
}

function checkResolution(state: LedgerState, resolution: Transfer, report: (code: ViolationCode, message: string) => void): void {
  const pending = resolution.pendingId === undefined ? undefined : state.transfer(resolution.pendingId);
  const status = resolution.kind === 'post_pending' ? 'posted' : 'voided';
  if (
    pending === undefined ||
    pending.kind !== 'pending' ||
    pending.pendingStatus !== status ||
    pending.resolvedBy !== resolution.id ||
    resolution.amount > pending.amount ||
    (status === 'voided' && resolution.amount !== pending.amount)
  ) {
    report('pending_resolution_inconsistent', `resolution ${resolution.id} of ${resolution.pendingId}`);
  }
}

function checkPendingRecord(state: LedgerState, pending: Transfer, report: (code: ViolationCode, message: string) => void): void {
  const status = pending.pendingStatus;
  if (status === 'pending' || status === 'expired') {
    if (pending.resolvedBy !== undefined) report('pending_resolution_inconsistent', `pending ${pending.id} is ${status} but resolved by ${pending.resolvedBy}`);
    return;
  }
  const resolution = pending.resolvedBy === undefined ? undefined : state.transfer(pending.resolvedBy);
  if (resolution === undefined || resolution.pendingId !== pending.id) {
    report('pending_resolution_inconsistent', `pending ${pending.id} is ${String(status)} without its resolution`);
  }
}
