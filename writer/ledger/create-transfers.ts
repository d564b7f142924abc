import type { CreateTransfers } from './commands.ts';
import type { ItemResult, ItemStatus, LedgerErrorCode } from './error-codes.ts';
import { evolve, writeTransferCreated } from './evolve.ts';
import type { LedgerEvent, PendingTransferPosted, PendingTransferVoided, TransferCreated } from './events.ts';
import type { LedgerState } from './ledger-state.ts';
import { counterMax } from './limits.ts';
import { fork } from './speculative-state.ts';
import type { Transfer, TransferInput } from './transfer.ts';

type TransferDecision = TransferCreated | PendingTransferPosted | PendingTransferVoided | 'exists' | LedgerErrorCode;

/**
 * Decides the transfers in order and evolves `state` with each accepted item's event as it goes,
 * so each item sees the effects of the earlier ones (no double spend inside a batch). `state`
 * must be one the caller may write: `decide` passes a fresh scratch overlay.
 *
 * Linked chains: `linked: true` chains an item to the next; the chain ends at the first item
 * without it. A chain is decided on its own overlay; if any item fails, that item reports its
 * code, every other item of the chain reports `linked_event_failed`, items after the failure are
 * not evaluated, and none of the chain's events are emitted. A chain still open at the end of
 * the batch fails the same way, its last item reporting `linked_event_chain_open`. An item that
 * answers `exists` (idempotent retry) does not fail its chain, so retrying a whole committed
 * chain answers `exists` for every item.
 */
export function decideCreateTransfers(command: CreateTransfers, scratch: LedgerState): { events: LedgerEvent[]; results: ItemResult[] } {
  const transfers = command.data.transfers;
  const now = command.metadata.now;
  const events: LedgerEvent[] = [];
  const results: ItemResult[] = new Array<ItemResult>(transfers.length);
  let start = 0;
  while (start < transfers.length) {
    let end = start;
    while ((transfers[end] as TransferInput).linked === true && end < transfers.length - 1) end += 1;
    const first = transfers[start] as TransferInput;
    if (end === start && first.linked !== true) {
      const decision = decideTransfer(first, scratch, now);
      if (typeof decision === 'string') {
        results[start] = { id: first.id, status: decision };
      } else {
        events.push(decision);
        results[start] = { id: first.id, status: 'created' };
      }
    } else {
      decideChain(transfers, start, end, scratch, now, events, results);
    }
    start = end + 1;
  }
  return { events, results };
}

function decideChain(
  transfers: readonly TransferInput[],
  start: number,
  end: number,
  scratch: LedgerState,
  now: number,
  events: LedgerEvent[],
  results: ItemResult[],
): void {
  const chainState = fork(scratch);
  const chainEvents: LedgerEvent[] = [];
  const statuses: ItemStatus[] = [];
  let failedAt = -1;
  let failure: LedgerErrorCode = 'linked_event_failed';
  for (let index = start; index <= end; index += 1) {
    const decision = decideTransfer(transfers[index] as TransferInput, chainState, now);
    if (typeof decision === 'string') {
      if (decision !== 'exists') {
        failedAt = index;
        failure = decision;
        break;
      }
      statuses.push('exists');
    } else {
      chainEvents.push(decision);
      statuses.push('created');
    }
  }
  if (failedAt < 0 && (transfers[end] as TransferInput).linked === true) {
    failedAt = end;
    failure = 'linked_event_chain_open';
  }
  for (let index = start; index <= end; index += 1) {
    const id = (transfers[index] as TransferInput).id;
    if (failedAt >= 0) {
      results[index] = { id, status: index === failedAt ? failure : 'linked_event_failed' };
    } else {
      results[index] = { id, status: statuses[index - start] as ItemStatus };
    }
  }
  if (failedAt >= 0) return;
  for (const event of chainEvents) {
    evolve(scratch, event);
    events.push(event);
  }
}

/**
 * One transfer against `state` at the leader's time `now`: an event, `exists`, or an error code.
 * An event has already been applied to `state` (which must be writable: a scratch overlay)
 * when this returns, so a new transfer's accounts are not looked up twice.
 */
export function decideTransfer(input: TransferInput, state: LedgerState, now: number): TransferDecision {
  const pendingId = input.postPendingId ?? input.voidPendingId;
  const modes = (input.pending === true ? 1 : 0) + (input.postPendingId !== undefined ? 1 : 0) + (input.voidPendingId !== undefined ? 1 : 0);
  if (modes > 1) return 'flags_are_mutually_exclusive';
  const timeoutSeconds = input.timeoutSeconds ?? 0;
  if (timeoutSeconds > 0 && input.pending !== true) return 'timeout_reserved_for_pending_transfer';
  if (pendingId !== undefined) {
    if (pendingId === input.id) return 'pending_id_must_be_different';
  } else {
    if (input.debitAccountId === undefined) return 'debit_account_id_required';
    if (input.creditAccountId === undefined) return 'credit_account_id_required';
    if (input.amount === undefined) return 'amount_required';
    if (input.ledger === undefined) return 'ledger_required';
    if (input.code === undefined) return 'code_required';
    if (input.debitAccountId === input.creditAccountId) return 'accounts_must_be_different';
  }

  const existing = state.transfer(input.id);
  if (existing !== undefined) return sameTransferFields(existing, input, state) ? 'exists' : 'exists_with_different_fields';

  if (pendingId !== undefined) {
    const decision = decideResolution(input, pendingId, state, now);
    if (typeof decision !== 'string') evolve(state, decision);
    return decision;
  }
  return decideNewTransfer(input, state, now);
}

function decideNewTransfer(input: TransferInput, state: LedgerState, now: number): TransferDecision {
  const debit = state.account(input.debitAccountId as string);
  const credit = state.account(input.creditAccountId as string);
  if (debit === undefined || credit === undefined) return 'account_not_found';
  if (debit.ledger !== credit.ledger) return 'accounts_must_have_the_same_ledger';
  if (input.ledger !== debit.ledger) return 'ledger_mismatch';
  const amount = input.amount as bigint;
  const debitsAfter = debit.debitsPending + debit.debitsPosted + amount;
  const creditsAfter = credit.creditsPending + credit.creditsPosted + amount;
  if (debitsAfter > counterMax) return 'overflows_debits';
  if (creditsAfter > counterMax) return 'overflows_credits';
  if (debit.flags.debitsMustNotExceedCredits && debitsAfter > debit.creditsPosted) return 'insufficient_funds';
  if (credit.flags.creditsMustNotExceedDebits && creditsAfter > credit.debitsPosted) return 'exceeds_debits';
  const pending = input.pending === true;
  const timeoutSeconds = input.timeoutSeconds ?? 0;
  const event: TransferCreated = {
    type: 'TransferCreated',
    data: {
      id: input.id,
      debitAccountId: debit.id,
      creditAccountId: credit.id,
      amount,
      ledger: debit.ledger,
      code: input.code as number,
      userData: input.userData,
      pending,
      timeoutSeconds,
      timeoutAt: pending && timeoutSeconds > 0 ? now + timeoutSeconds * 1000 : undefined,
    },
  };
  writeTransferCreated(state, event, debit, credit, true);
  state.advanceSeq();
  return event;
}

function decideResolution(input: TransferInput, pendingId: string, state: LedgerState, now: number): TransferDecision {
  const pending = state.transfer(pendingId);
  if (pending === undefined) return 'pending_transfer_not_found';
  if (pending.kind !== 'pending') return 'pending_transfer_not_pending';
  if (input.debitAccountId !== undefined && input.debitAccountId !== pending.debitAccountId) return 'debit_account_id_must_match_pending';
  if (input.creditAccountId !== undefined && input.creditAccountId !== pending.creditAccountId) return 'credit_account_id_must_match_pending';
  if (input.ledger !== undefined && input.ledger !== pending.ledger) return 'ledger_must_match_pending';
  if (input.code !== undefined && input.code !== pending.code) return 'code_must_match_pending';
  const posting = input.postPendingId !== undefined;
  const amount = input.amount ?? pending.amount;
  if (posting && amount > pending.amount) return 'exceeds_pending_transfer_amount';
  if (!posting && amount !== pending.amount) return 'pending_transfer_has_different_amount';
  if (pending.pendingStatus === 'posted' || pending.pendingStatus === 'voided') return 'pending_already_resolved';
  if (pending.pendingStatus === 'expired') return 'pending_transfer_expired';
  if (pending.timeoutAt !== undefined && now >= pending.timeoutAt) return 'pending_transfer_expired';
  const data = {
    id: input.id,
    pendingId,
    amount,
    pendingAmount: pending.amount,
    debitAccountId: pending.debitAccountId,
    creditAccountId: pending.creditAccountId,
    ledger: pending.ledger,
    code: pending.code,
    userData: input.userData,
  };
  return posting ? { type: 'PendingTransferPosted', data } : { type: 'PendingTransferVoided', data };
}

/**
 * Idempotency: is `input` the same request that created `existing`? Compared on what the
 * request means once resolved (a post without amount means the full pending amount; fields a
 * post or void leaves out are those of its pending transfer). `linked` is not compared: it
 * describes the batch, not the transfer.
 */
function sameTransferFields(existing: Transfer, input: TransferInput, state: LedgerState): boolean {
  if (existing.userData !== input.userData) return false;
  if (input.postPendingId !== undefined || input.voidPendingId !== undefined) {
    const kind = input.postPendingId !== undefined ? 'post_pending' : 'void_pending';
    if (existing.kind !== kind || existing.pendingId !== (input.postPendingId ?? input.voidPendingId)) return false;
    if (input.debitAccountId !== undefined && input.debitAccountId !== existing.debitAccountId) return false;
    if (input.creditAccountId !== undefined && input.creditAccountId !== existing.creditAccountId) return false;
    if (input.ledger !== undefined && input.ledger !== existing.ledger) return false;
    if (input.code !== undefined && input.code !== existing.code) return false;
    if (input.amount !== undefined) return input.amount === existing.amount;
    const pending = state.transfer(existing.pendingId as string);
    return pending !== undefined && pending.amount === existing.amount;
  }
  const kind = input.pending === true ? 'pending' : 'single_phase';
  return (
    existing.kind === kind &&
    existing.debitAccountId === input.debitAccountId &&
    existing.creditAccountId === input.creditAccountId &&
    existing.amount === input.amount &&
    existing.ledger === input.ledger &&
    existing.code === input.code &&
    existing.timeoutSeconds === (input.timeoutSeconds ?? 0)
  );
}
