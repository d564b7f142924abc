import { describe, expect, it } from 'vitest';
import { accountCreated, createTransfers, given, transferCreated } from './given-when-then.ts';
import { counterMax } from './limits.ts';
import type { TransferInput } from './transfer.ts';

const alice = accountCreated('alice');
const bob = accountCreated('bob');
const aliceGuarded = accountCreated('alice', { debitsMustNotExceedCredits: true });
const bobCapped = accountCreated('bob', { creditsMustNotExceedDebits: true });
const operator = accountCreated('operator');

function single(id: string, amount: bigint, more: Partial<TransferInput> = {}): TransferInput {
  return { id, debitAccountId: 'alice', creditAccountId: 'bob', amount, ledger: 1, code: 1, ...more };
}

describe('CreateTransfers: single-phase', () => {
  it('posts at once: debit and credit counters move by the amount', () => {
    const { state } = given(alice, bob)
      .when(createTransfers(single('t-1', 1250n, { userData: 'invoice-7' })))
      .then(transferCreated('t-1', 'alice', 'bob', 1250n, { userData: 'invoice-7' }))
      .thenStatuses('created');
    expect(state.account('alice')).toMatchObject({ debitsPosted: 1250n, debitsPending: 0n, creditsPosted: 0n });
    expect(state.account('bob')).toMatchObject({ creditsPosted: 1250n, creditsPending: 0n, debitsPosted: 0n });
    expect(state.transfer('t-1')).toMatchObject({ kind: 'single_phase', amount: 1250n, pendingStatus: undefined });
  });

  it.each([
    ['debit_account_id_required', { debitAccountId: undefined }],
    ['credit_account_id_required', { creditAccountId: undefined }],
    ['amount_required', { amount: undefined }],
    ['ledger_required', { ledger: undefined }],
    ['code_required', { code: undefined }],
  ] as const)('rejects a missing field: %s', (code, override) => {
    given(alice, bob).when(createTransfers(single('t-1', 5n, override))).thenRejects(code);
  });

  it('rejects accounts_must_be_different', () => {
    given(alice).when(createTransfers(single('t-1', 5n, { creditAccountId: 'alice' }))).thenRejects('accounts_must_be_different');
  });

  it('rejects account_not_found for either side', () => {
    given(alice, bob).when(createTransfers(single('t-1', 5n, { debitAccountId: 'nobody' }))).thenRejects('account_not_found');
    given(alice, bob).when(createTransfers(single('t-1', 5n, { creditAccountId: 'nobody' }))).thenRejects('account_not_found');
  });

  it('rejects accounts of different ledgers, and a transfer ledger other than theirs', () => {
    const euro = accountCreated('bob', { ledger: 2 });
    given(alice, euro).when(createTransfers(single('t-1', 5n))).thenRejects('accounts_must_have_the_same_ledger');
    given(alice, bob).when(createTransfers(single('t-1', 5n, { ledger: 2 }))).thenRejects('ledger_mismatch');
  });

  it('rejects timeout_reserved_for_pending_transfer, but accepts timeoutSeconds 0', () => {
    given(alice, bob).when(createTransfers(single('t-1', 5n, { timeoutSeconds: 30 }))).thenRejects('timeout_reserved_for_pending_transfer');
    given(alice, bob).when(createTransfers(single('t-1', 5n, { timeoutSeconds: 0 }))).thenStatuses('created');
  });

  it('rejects flags_are_mutually_exclusive for pending with a post or void', () => {
    given(alice, bob).when(createTransfers(single('t-1', 5n, { pending: true, postPendingId: 'p' }))).thenRejects('flags_are_mutually_exclusive');
    given(alice, bob).when(createTransfers({ id: 't-1', postPendingId: 'p', voidPendingId: 'p' })).thenRejects('flags_are_mutually_exclusive');
  });

  it('debitsMustNotExceedCredits: allows up to the credits, rejects one more as insufficient_funds', () => {
    const funded = transferCreated('fund', 'operator', 'alice', 100n);
    given(aliceGuarded, bob, operator, funded).when(createTransfers(single('t-1', 100n))).thenStatuses('created');
    given(aliceGuarded, bob, operator, funded).when(createTransfers(single('t-1', 101n))).thenRejects('insufficient_funds');
  });

  it('insufficient_funds counts pending debits too', () => {
    const funded = transferCreated('fund', 'operator', 'alice', 100n);
    const reserved = transferCreated('p-1', 'alice', 'bob', 60n, { pending: true });
    given(aliceGuarded, bob, operator, funded, reserved).when(createTransfers(single('t-1', 41n))).thenRejects('insufficient_funds');
    given(aliceGuarded, bob, operator, funded, reserved).when(createTransfers(single('t-1', 40n))).thenStatuses('created');
  });

  it('creditsMustNotExceedDebits: rejects credits beyond debits as exceeds_debits', () => {
    const debited = transferCreated('t-0', 'bob', 'alice', 30n);
    given(alice, bobCapped, debited).when(createTransfers(single('t-1', 30n))).thenStatuses('created');
    given(alice, bobCapped, debited).when(createTransfers(single('t-1', 31n))).thenRejects('exceeds_debits');
  });

  it('rejects counters beyond 2^63-1: overflows_debits / overflows_credits', () => {
    const big = counterMax - 10n;
    const carol = accountCreated('carol');
    const aliceNearMax = transferCreated('t-0', 'alice', 'carol', big);
    given(alice, bob, carol, aliceNearMax).when(createTransfers(single('t-1', 11n))).thenRejects('overflows_debits');
    given(alice, bob, carol, aliceNearMax).when(createTransfers(single('t-1', 10n))).thenStatuses('created');
    const bobNearMax = transferCreated('t-0', 'carol', 'bob', big, { pending: true });
    given(alice, bob, carol, bobNearMax).when(createTransfers(single('t-1', 11n))).thenRejects('overflows_credits');
  });

  it('idempotency: same id and body answers exists; a different body exists_with_different_fields', () => {
    const done = transferCreated('t-1', 'alice', 'bob', 5n, { userData: 'u' });
    given(alice, bob, done).when(createTransfers(single('t-1', 5n, { userData: 'u', linked: false }))).then().thenStatuses('exists');
    for (const change of [{ amount: 6n }, { creditAccountId: 'operator' }, { code: 2 }, { userData: 'v' }, { userData: undefined }, { pending: true }]) {
      given(alice, bob, operator, done).when(createTransfers(single('t-1', 5n, { userData: 'u', ...change }))).thenRejects('exists_with_different_fields');
    }
  });

  it('exists wins over checks against current state (the original outcome is kept)', () => {
    const funded = transferCreated('fund', 'operator', 'alice', 100n);
    const spent = transferCreated('t-1', 'alice', 'bob', 100n);
    given(aliceGuarded, bob, operator, funded, spent).when(createTransfers(single('t-1', 100n))).thenStatuses('exists');
  });

  it('a rejected id is not recorded: retried later it is evaluated afresh', () => {
    const first = given(aliceGuarded, bob, operator).when(createTransfers(single('t-1', 50n))).thenRejects('insufficient_funds');
    expect(first.state.transfer('t-1')).toBeUndefined();
    const funded = transferCreated('fund', 'operator', 'alice', 50n);
    given(aliceGuarded, bob, operator, funded).when(createTransfers(single('t-1', 50n))).thenStatuses('created');
  });

  it('no double spend inside a batch: later items see earlier ones', () => {
    const funded = transferCreated('fund', 'operator', 'alice', 100n);
    given(aliceGuarded, bob, operator, funded)
      .when(createTransfers(single('t-1', 70n), single('t-2', 70n), single('t-3', 30n), single('t-1', 70n)))
      .then(transferCreated('t-1', 'alice', 'bob', 70n), transferCreated('t-3', 'alice', 'bob', 30n))
      .thenStatuses('created', 'insufficient_funds', 'created', 'exists');
  });

  it('deposits and withdrawals are transfers against an operator account of the same ledger', () => {
    const customer = accountCreated('customer', { debitsMustNotExceedCredits: true });
    const { state } = given(operator, customer)
      .when(createTransfers(
        { id: 'deposit-1', debitAccountId: 'operator', creditAccountId: 'customer', amount: 500n, ledger: 1, code: 1 },
        { id: 'withdrawal-1', debitAccountId: 'customer', creditAccountId: 'operator', amount: 200n, ledger: 1, code: 2 },
        { id: 'withdrawal-2', debitAccountId: 'customer', creditAccountId: 'operator', amount: 301n, ledger: 1, code: 2 },
      ))
      .thenStatuses('created', 'created', 'insufficient_funds');
    expect(state.account('customer')).toMatchObject({ creditsPosted: 500n, debitsPosted: 200n });
    expect(state.account('operator')).toMatchObject({ debitsPosted: 500n, creditsPosted: 200n });
  });

  it('refuses a malformed transfer batch as a whole', () => {
    given(alice, bob).when(createTransfers()).thenRejectsCommand('batch_empty');
    given(alice, bob).when(createTransfers(single('t-1', 0n))).thenRejectsCommand('invalid_field');
    given(alice, bob).when(createTransfers(single('t-1', counterMax + 1n))).thenRejectsCommand('invalid_field');
    given(alice, bob).when(createTransfers(single('t-1', 1n, { timeoutSeconds: 1.5, pending: true }))).thenRejectsCommand('invalid_field');
    given(alice, bob).when(createTransfers(single('t 1', 1n))).thenRejectsCommand('invalid_field');
  });
});
