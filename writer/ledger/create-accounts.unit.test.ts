import { describe, expect, it } from 'vitest';
import { accountCreated, createAccounts, given } from './given-when-then.ts';
import { batchItemsMax } from './limits.ts';

describe('CreateAccounts', () => {
  it('creates an account with zero counters and the given flags', () => {
    const { state } = given()
      .when(createAccounts({ id: 'alice', ledger: 1, code: 10, flags: { debitsMustNotExceedCredits: true }, userData: 'vip' }))
      .then(accountCreated('alice', { debitsMustNotExceedCredits: true, userData: 'vip' }))
      .thenStatuses('created');
    expect(state.account('alice')).toEqual({
      id: 'alice', ledger: 1, code: 10, flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: false },
      userData: 'vip', debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 0n,
    });
    expect(state.lastSeq).toBe(1);
  });

  it('rejects both balance flags at once: flags_are_mutually_exclusive', () => {
    given()
      .when(createAccounts({ id: 'alice', ledger: 1, code: 10, flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: true } }))
      .thenRejects('flags_are_mutually_exclusive');
  });

  it('answers exists for the same id and fields (absent flags = false flags)', () => {
    given(accountCreated('alice'))
      .when(createAccounts({ id: 'alice', ledger: 1, code: 10, flags: { debitsMustNotExceedCredits: false } }))
      .then()
      .thenStatuses('exists');
  });

  it.each([
    ['ledger', { id: 'alice', ledger: 2, code: 10 }],
    ['code', { id: 'alice', ledger: 1, code: 11 }],
    ['flags', { id: 'alice', ledger: 1, code: 10, flags: { creditsMustNotExceedDebits: true } }],
    ['userData', { id: 'alice', ledger: 1, code: 10, userData: 'other' }],
  ])('answers exists_with_different_fields when %s differs', (_field, input) => {
    given(accountCreated('alice')).when(createAccounts(input)).thenRejects('exists_with_different_fields');
  });

  it('sees earlier items of the same batch: a repeated id answers exists', () => {
    given()
      .when(createAccounts({ id: 'alice', ledger: 1, code: 10 }, { id: 'alice', ledger: 1, code: 10 }, { id: 'alice', ledger: 1, code: 9 }))
      .then(accountCreated('alice'))
      .thenStatuses('created', 'exists', 'exists_with_different_fields');
  });

  it('applies items in order, each with its own result', () => {
    given(accountCreated('bob'))
      .when(createAccounts({ id: 'alice', ledger: 1, code: 10 }, { id: 'bob', ledger: 1, code: 10 }, { id: 'carol', ledger: 2, code: 3 }))
      .then(accountCreated('alice'), accountCreated('carol', { ledger: 2, code: 3 }))
      .thenStatuses('created', 'exists', 'created');
  });

  it('refuses malformed commands as a whole', () => {
    given().when(createAccounts()).thenRejectsCommand('batch_empty');
    const tooMany = Array.from({ length: batchItemsMax + 1 }, (_, index) => ({ id: `a-${index}`, ledger: 1, code: 1 }));
    given().when(createAccounts(...tooMany)).thenRejectsCommand('batch_too_large');
    const bad = given().when(createAccounts({ id: 'ok', ledger: 1, code: 1 }, { id: 'bad id!', ledger: 1, code: 1 })).thenRejectsCommand('invalid_field');
    expect(bad.outcome).toMatchObject({ rejection: { index: 1, field: 'id' } });
    given().when(createAccounts({ id: 'a', ledger: 0, code: 1 })).thenRejectsCommand('invalid_field');
    given().when(createAccounts({ id: 'a', ledger: 1, code: -1 })).thenRejectsCommand('invalid_field');
    given().when(createAccounts({ id: 'a', ledger: 1, code: 1, userData: 'x'.repeat(129) })).thenRejectsCommand('invalid_field');
  });

  it('accepts exactly batchItemsMax items', () => {
    const accounts = Array.from({ length: batchItemsMax }, (_, index) => ({ id: `a-${index}`, ledger: 1, code: 1 }));
    const { events, state } = given().when(createAccounts(...accounts));
    expect(events).toHaveLength(batchItemsMax);
    expect(state.lastSeq).toBe(batchItemsMax);
  });
});
