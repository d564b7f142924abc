import assert from 'node:assert/strict';
import type { Account } from './account.ts';
import type { LedgerEvent, PendingResolutionData, TransferCreated } from './events.ts';
import type { LedgerState } from './ledger-state.ts';
import { counterMax } from './limits.ts';
import type { PendingStatus, Transfer } from './transfer.ts';

/**
 * Applies one event to `state` and assigns it the next seq (`state.lastSeq` afterwards).
 *
 * MUTATES `state` and returns it: the committed store is owned by the apply loop (account
 * records are updated in place there), and an overlay from `fork()` keeps the writes to itself,
 * so folding is still `events.reduce(evolve, initialState())`. Events were decided against the same state, so
 * anything unexpected here is a broken invariant, asserted (crash rather than limp on).
 */
export function evolve<State extends LedgerState>(state: State, event: LedgerEvent): State {
  switch (event.type) {
    case 'AccountCreated': {
      const data = event.data;
      if (state.account(data.id) !== undefined) assert.fail(`account ${data.id} created twice`);
      assert(!(data.flags.debitsMustNotExceedCredits && data.flags.creditsMustNotExceedDebits));
      state.putAccount({
        id: data.id,
        ledger: data.ledger,
        code: data.code,
        flags: data.flags,
        userData: data.userData,
        debitsPending: 0n,
        debitsPosted: 0n,
        creditsPending: 0n,
        creditsPosted: 0n,
      });
      break;
    }
    case 'TransferCreated': {
      const data = event.data;
      const debit = existingAccount(state, data.debitAccountId, data.ledger);
      const credit = existingAccount(state, data.creditAccountId, data.ledger);
      writeTransferCreated(state, event, debit, credit, false);
      break;
    }
    case 'PendingTransferPosted':
      resolvePending(state, event.data, 'posted');
      break;
    case 'PendingTransferVoided':
      assert(event.data.amount === event.data.pendingAmount);
      resolvePending(state, event.data, 'voided');
      break;
    case 'PendingTransferExpired': {
      const data = event.data;
      const pending = stillPending(state, data.pendingId);
      assert(pending.amount === data.amount && pending.debitAccountId === data.debitAccountId);
      assert(pending.creditAccountId === data.creditAccountId && pending.ledger === data.ledger);
      assert(pending.timeoutAt !== undefined && pending.timeoutAt <= data.expiredAt, 'expired before its timeout');
      releasePending(state, pending, 0n);
      state.putTransfer(withPendingStatus(pending, 'expired', undefined));
      break;
    }
    default: {
      const _exhaustive: never = event;
      throw new Error(`unknown event ${JSON.stringify(_exhaustive)}`);
    }
  }
  state.advanceSeq();
  return state;
}

/**
 * The writes of a `TransferCreated` (no seq): the two accounts' new counters and the transfer
 * record. `debit` and `credit` are the current records of its accounts in `state`;
 * `decideAndEvolve` calls this directly with the accounts it just read and `idCheckedNew` (it just
 * looked the id up), saving the lookups `evolve` would repeat.
 */
export function writeTransferCreated(state: LedgerState, event: TransferCreated, debit: Account, credit: Account, idCheckedNew: boolean): void {
  const data = event.data;
  assert(data.amount > 0n);
  assert(data.pending || (data.timeoutSeconds === 0 && data.timeoutAt === undefined));
  assert(debit.id === data.debitAccountId && credit.id === data.creditAccountId && debit.id !== credit.id);
  const amount = data.amount;
  const record: Transfer = {
    id: data.id,
    kind: data.pending ? 'pending' : 'single_phase',
    // The accounts' own id strings (equal, asserted above), not the event's freshly decoded
    // copies: the transfer table interns account ids, and a string it has seen hashes for free.
    debitAccountId: debit.id,
    creditAccountId: credit.id,
    amount,
    ledger: data.ledger,
    code: data.code,
    userData: data.userData,
    timeoutSeconds: data.timeoutSeconds,
    timeoutAt: data.timeoutAt,
    pendingStatus: data.pending ? 'pending' : undefined,
    resolvedBy: undefined,
    pendingId: undefined,
  };
  if (idCheckedNew) state.putTransfer(record);
  else if (!state.putNewTransfer(record)) assert.fail(`transfer ${data.id} created twice`);
  if (data.pending) {
    setCheckedCounters(state, debit, debit.debitsPending + amount, debit.debitsPosted, debit.creditsPending, debit.creditsPosted);
    setCheckedCounters(state, credit, credit.debitsPending, credit.debitsPosted, credit.creditsPending + amount, credit.creditsPosted);
  } else {
    setCheckedCounters(state, debit, debit.debitsPending, debit.debitsPosted + amount, debit.creditsPending, debit.creditsPosted);
    setCheckedCounters(state, credit, credit.debitsPending, credit.debitsPosted, credit.creditsPending, credit.creditsPosted + amount);
  }
}

function resolvePending(state: LedgerState, data: PendingResolutionData, status: PendingStatus): void {
  if (state.transfer(data.id) !== undefined) assert.fail(`transfer ${data.id} created twice`);
  const pending = stillPending(state, data.pendingId);
  assert(pending.amount === data.pendingAmount, 'resolution names a different pending amount');
  assert(data.amount > 0n && data.amount <= data.pendingAmount);
  assert(pending.debitAccountId === data.debitAccountId && pending.creditAccountId === data.creditAccountId);
  assert(pending.ledger === data.ledger && pending.code === data.code);
  releasePending(state, pending, status === 'posted' ? data.amount : 0n);
  state.putTransfer(withPendingStatus(pending, status, data.id));
  state.putTransfer({
    id: data.id,
    kind: status === 'posted' ? 'post_pending' : 'void_pending',
    debitAccountId: data.debitAccountId,
    creditAccountId: data.creditAccountId,
    amount: data.amount,
    ledger: data.ledger,
    code: data.code,
    userData: data.userData,
    timeoutSeconds: 0,
    timeoutAt: undefined,
    pendingStatus: undefined,
    resolvedBy: undefined,
    pendingId: data.pendingId,
  });
}

/** Takes the pending amount off both pending counters and posts `postedAmount` (0 = none). */
function releasePending(state: LedgerState, pending: Transfer, postedAmount: bigint): void {
  const debit = existingAccount(state, pending.debitAccountId, pending.ledger);
  const credit = existingAccount(state, pending.creditAccountId, pending.ledger);
  setCheckedCounters(state, debit, debit.debitsPending - pending.amount, debit.debitsPosted + postedAmount, debit.creditsPending, debit.creditsPosted);
  setCheckedCounters(state, credit, credit.debitsPending, credit.debitsPosted, credit.creditsPending - pending.amount, credit.creditsPosted + postedAmount);
}

function stillPending(state: LedgerState, pendingId: string): Transfer {
  const pending = state.transfer(pendingId);
  if (pending === undefined) assert.fail(`pending transfer ${pendingId} not found`);
  if (pending.kind !== 'pending') assert.fail(`transfer ${pendingId} is not pending`);
  if (pending.pendingStatus !== 'pending') assert.fail(`pending transfer ${pendingId} resolved twice`);
  return pending;
}

function existingAccount(state: LedgerState, id: string, ledger: number): Account {
  const account = state.account(id);
  if (account === undefined) assert.fail(`account ${id} not found`);
  if (account.ledger !== ledger) assert.fail(`account ${id} is not in ledger ${ledger}`);
  return account;
}

function withPendingStatus(pending: Transfer, pendingStatus: PendingStatus, resolvedBy: string | undefined): Transfer {
  return { ...pending, pendingStatus, resolvedBy };
}

function setCheckedCounters(
  state: LedgerState,
  current: Account,
  debitsPending: bigint,
  debitsPosted: bigint,
  creditsPending: bigint,
  creditsPosted: bigint,
): void {
  const account = state.setAccountCounters(current, debitsPending, debitsPosted, creditsPending, creditsPosted);
  if (!(account.debitsPending >= 0n && account.creditsPending >= 0n)) assert.fail(`account ${account.id}: negative pending counter`);
  if (!(account.debitsPending + account.debitsPosted <= counterMax)) assert.fail(`account ${account.id}: debits overflow`);
  if (!(account.creditsPending + account.creditsPosted <= counterMax)) assert.fail(`account ${account.id}: credits overflow`);
  if (account.flags.debitsMustNotExceedCredits && account.debitsPending + account.debitsPosted > account.creditsPosted) {
    assert.fail(`account ${account.id}: debits exceed credits`);
  }
  if (account.flags.creditsMustNotExceedDebits && account.creditsPending + account.creditsPosted > account.debitsPosted) {
    assert.fail(`account ${account.id}: credits exceed debits`);
  }
}
