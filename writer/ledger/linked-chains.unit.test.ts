import { describe, expect, it } from 'vitest';
import { accountCreated, createTransfers, given, transferCreated } from './given-when-then.ts';
import type { TransferInput } from './transfer.ts';

const alice = accountCreated('alice', { debitsMustNotExceedCredits: true });
const bob = accountCreated('bob');
const operator = accountCreated('operator');
const funded = transferCreated('fund', 'operator', 'alice', 100n);

function move(id: string, amount: bigint, linked = false): TransferInput {
  return { id, debitAccountId: 'alice', creditAccountId: 'bob', amount, ledger: 1, code: 1, linked };
}

describe('CreateTransfers: linked chains', () => {
  it('a chain that succeeds emits all its events', () => {
    given(alice, bob, operator, funded)
      .when(createTransfers(move('t-1', 10n, true), move('t-2', 20n, true), move('t-3', 30n)))
      .then(transferCreated('t-1', 'alice', 'bob', 10n), transferCreated('t-2', 'alice', 'bob', 20n), transferCreated('t-3', 'alice', 'bob', 30n))
      .thenStatuses('created', 'created', 'created');
  });

  it('one failure fails the whole chain: its own code, linked_event_failed for the rest, no events', () => {
    const { state } = given(alice, bob, operator, funded)
      .when(createTransfers(move('t-1', 60n, true), move('t-2', 60n, true), move('t-3', 1n)))
      .then()
      .thenStatuses('linked_event_failed', 'insufficient_funds', 'linked_event_failed');
    expect(state.transfer('t-1')).toBeUndefined();
    expect(state.account('alice')).toMatchObject({ debitsPosted: 0n });
  });

  it('items outside the failed chain are unaffected and see none of its effects', () => {
    given(alice, bob, operator, funded)
      .when(createTransfers(move('t-0', 10n), move('t-1', 90n, true), move('t-2', 1n), move('t-3', 90n)))
      .then(transferCreated('t-0', 'alice', 'bob', 10n), transferCreated('t-3', 'alice', 'bob', 90n))
      .thenStatuses('created', 'linked_event_failed', 'insufficient_funds', 'created');
  });

  it('a chain open at the end of the batch fails with linked_event_chain_open', () => {
    given(alice, bob, operator, funded)
      .when(createTransfers(move('t-0', 10n), move('t-1', 10n, true), move('t-2', 10n, true)))
      .then(transferCreated('t-0', 'alice', 'bob', 10n))
      .thenStatuses('created', 'linked_event_failed', 'linked_event_chain_open');
    given(alice, bob, operator, funded).when(createTransfers(move('t-1', 10n, true))).thenRejects('linked_event_chain_open');
  });

  it('consecutive chains are independent', () => {
    given(alice, bob, operator, funded)
      .when(createTransfers(move('t-1', 50n, true), move('t-2', 50n), move('t-3', 1n, true), move('t-4', 1n)))
      .then(transferCreated('t-1', 'alice', 'bob', 50n), transferCreated('t-2', 'alice', 'bob', 50n))
      .thenStatuses('created', 'created', 'insufficient_funds', 'linked_event_failed');
  });

  it('a chain can reserve and post inside itself (pending created and resolved atomically)', () => {
    const pending: TransferInput = { id: 'p-1', debitAccountId: 'alice', creditAccountId: 'bob', amount: 40n, ledger: 1, code: 1, pending: true, linked: true };
    const { state } = given(alice, bob, operator, funded)
      .when(createTransfers(pending, { id: 't-1', postPendingId: 'p-1', amount: 30n }))
      .thenStatuses('created', 'created');
    expect(state.account('alice')).toMatchObject({ debitsPending: 0n, debitsPosted: 30n });
  });

  it('a failed chain does not resolve its pending transfer', () => {
    const reserve = transferCreated('p-1', 'alice', 'bob', 40n, { pending: true });
    const { state } = given(alice, bob, operator, funded, reserve)
      .when(createTransfers({ id: 't-1', postPendingId: 'p-1', linked: true }, move('t-2', 1000n)))
      .thenStatuses('linked_event_failed', 'insufficient_funds');
    expect(state.transfer('p-1')).toMatchObject({ pendingStatus: 'pending' });
  });

  it('retrying a committed chain answers exists for every item (exists does not fail a chain)', () => {
    const committed = [transferCreated('t-1', 'alice', 'bob', 10n), transferCreated('t-2', 'alice', 'bob', 20n)];
    given(alice, bob, operator, funded, ...committed)
      .when(createTransfers(move('t-1', 10n, true), move('t-2', 20n)))
      .then()
      .thenStatuses('exists', 'exists');
  });

  it('exists_with_different_fields fails the chain', () => {
    const committed = transferCreated('t-1', 'alice', 'bob', 10n);
    given(alice, bob, operator, funded, committed)
      .when(createTransfers(move('t-1', 11n, true), move('t-2', 20n)))
      .thenStatuses('exists_with_different_fields', 'linked_event_failed');
  });

  it('a duplicate id inside a chain answers exists for the second occurrence', () => {
    given(alice, bob, operator, funded)
      .when(createTransfers(move('t-1', 10n, true), move('t-1', 10n)))
      .then(transferCreated('t-1', 'alice', 'bob', 10n))
      .thenStatuses('created', 'exists');
  });
});
