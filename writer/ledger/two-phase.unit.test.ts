import { describe, expect, it } from 'vitest';
import {
  accountCreated,
  createTransfers,
  createTransfersAt,
  given,
  pendingExpired,
  pendingPosted,
  pendingVoided,
  testNow,
  transferCreated,
} from './given-when-then.ts';
import type { PendingTransferPosted } from './events.ts';

const alice = accountCreated('alice');
const bob = accountCreated('bob');
const carol = accountCreated('carol');
const reserve = transferCreated('p-1', 'alice', 'bob', 500n, { pending: true, timeoutSeconds: 30 });
const reserveForever = transferCreated('p-2', 'alice', 'bob', 500n, { pending: true });
const timeoutAt = testNow + 30_000;

describe('CreateTransfers: pending', () => {
  it('reserves on the pending counters, with timeoutAt by the leader clock', () => {
    const { state } = given(alice, bob)
      .when(createTransfers({ id: 'p-1', debitAccountId: 'alice', creditAccountId: 'bob', amount: 500n, ledger: 1, code: 1, pending: true, timeoutSeconds: 30 }))
      .then(reserve);
    expect(reserve.data.timeoutAt).toBe(timeoutAt);
    expect(state.account('alice')).toMatchObject({ debitsPending: 500n, debitsPosted: 0n });
    expect(state.account('bob')).toMatchObject({ creditsPending: 500n, creditsPosted: 0n });
    expect(state.transfer('p-1')).toMatchObject({ kind: 'pending', pendingStatus: 'pending', timeoutAt });
  });

  it('a pending transfer without timeout never gets a timeoutAt', () => {
    given(alice, bob)
      .when(createTransfers({ id: 'p-2', debitAccountId: 'alice', creditAccountId: 'bob', amount: 500n, ledger: 1, code: 1, pending: true }))
      .then(reserveForever);
  });
});

describe('CreateTransfers: post and void', () => {
  it('posts the full pending amount when no amount is given', () => {
    const { state } = given(alice, bob, reserve).when(createTransfers({ id: 't-3', postPendingId: 'p-1' })).then(pendingPosted('t-3', reserve));
    expect(state.account('alice')).toMatchObject({ debitsPending: 0n, debitsPosted: 500n });
    expect(state.account('bob')).toMatchObject({ creditsPending: 0n, creditsPosted: 500n });
    expect(state.transfer('p-1')).toMatchObject({ pendingStatus: 'posted', resolvedBy: 't-3' });
    expect(state.transfer('t-3')).toMatchObject({ kind: 'post_pending', pendingId: 'p-1', amount: 500n, debitAccountId: 'alice' });
  });

  it('posts part of the amount and releases the rest', () => {
    const { state } = given(alice, bob, reserve)
      .when(createTransfers({ id: 't-3', postPendingId: 'p-1', amount: 400n, debitAccountId: 'alice', ledger: 1 }))
      .then(pendingPosted('t-3', reserve, 400n));
    expect(state.account('alice')).toMatchObject({ debitsPending: 0n, debitsPosted: 400n });
    expect(state.account('bob')).toMatchObject({ creditsPending: 0n, creditsPosted: 400n });
  });

  it('voids: releases the reserve, posts nothing', () => {
    const { state } = given(alice, bob, reserve).when(createTransfers({ id: 't-4', voidPendingId: 'p-1' })).then(pendingVoided('t-4', reserve));
    expect(state.account('alice')).toMatchObject({ debitsPending: 0n, debitsPosted: 0n });
    expect(state.transfer('p-1')).toMatchObject({ pendingStatus: 'voided', resolvedBy: 't-4' });
  });

  it('carries userData of the resolving transfer', () => {
    const { events } = given(alice, bob, reserve).when(createTransfers({ id: 't-3', postPendingId: 'p-1', userData: 'settled' }));
    expect((events[0] as PendingTransferPosted).data.userData).toBe('settled');
  });

  it('rejects pending_transfer_not_found and pending_transfer_not_pending', () => {
    given(alice, bob).when(createTransfers({ id: 't-4', voidPendingId: 't-9' })).thenRejects('pending_transfer_not_found');
    const posted = transferCreated('t-1', 'alice', 'bob', 5n);
    given(alice, bob, posted).when(createTransfers({ id: 't-4', postPendingId: 't-1' })).thenRejects('pending_transfer_not_pending');
  });

  it('rejects pending_id_must_be_different', () => {
    given(alice, bob, reserve).when(createTransfers({ id: 'p-1', postPendingId: 'p-1' })).thenRejects('pending_id_must_be_different');
  });

  it('resolves at most once: pending_already_resolved after a post or a void', () => {
    const posted = pendingPosted('t-3', reserve);
    const voided = pendingVoided('t-4', reserve);
    given(alice, bob, reserve, posted).when(createTransfers({ id: 't-5', postPendingId: 'p-1' })).thenRejects('pending_already_resolved');
    given(alice, bob, reserve, posted).when(createTransfers({ id: 't-5', voidPendingId: 'p-1' })).thenRejects('pending_already_resolved');
    given(alice, bob, reserve, voided).when(createTransfers({ id: 't-5', postPendingId: 'p-1' })).thenRejects('pending_already_resolved');
  });

  it('resolves at most once inside a batch too', () => {
    given(alice, bob, reserve)
      .when(createTransfers({ id: 't-3', postPendingId: 'p-1', amount: 1n }, { id: 't-4', voidPendingId: 'p-1' }))
      .thenStatuses('created', 'pending_already_resolved');
  });

  it('rejects pending_transfer_expired after an expiry event', () => {
    const expired = pendingExpired(reserve, timeoutAt);
    given(alice, bob, reserve, expired).when(createTransfersAt(timeoutAt + 1, { id: 't-3', postPendingId: 'p-1' })).thenRejects('pending_transfer_expired');
  });

  it('rejects pending_transfer_expired once the leader clock reaches timeoutAt, before any expiry event', () => {
    given(alice, bob, reserve).when(createTransfersAt(timeoutAt, { id: 't-3', postPendingId: 'p-1' })).thenRejects('pending_transfer_expired');
    given(alice, bob, reserve).when(createTransfersAt(timeoutAt, { id: 't-4', voidPendingId: 'p-1' })).thenRejects('pending_transfer_expired');
    given(alice, bob, reserve).when(createTransfersAt(timeoutAt - 1, { id: 't-3', postPendingId: 'p-1' })).thenStatuses('created');
  });

  it.each([
    ['debit_account_id_must_match_pending', { debitAccountId: 'carol' }],
    ['credit_account_id_must_match_pending', { creditAccountId: 'carol' }],
    ['ledger_must_match_pending', { ledger: 2 }],
    ['code_must_match_pending', { code: 7 }],
  ] as const)('rejects %s', (code, fields) => {
    given(alice, bob, carol, reserve).when(createTransfers({ id: 't-3', postPendingId: 'p-1', ...fields })).thenRejects(code);
  });

  it('rejects exceeds_pending_transfer_amount and a void with another amount', () => {
    given(alice, bob, reserve).when(createTransfers({ id: 't-3', postPendingId: 'p-1', amount: 501n })).thenRejects('exceeds_pending_transfer_amount');
    given(alice, bob, reserve).when(createTransfers({ id: 't-3', voidPendingId: 'p-1', amount: 499n })).thenRejects('pending_transfer_has_different_amount');
    given(alice, bob, reserve).when(createTransfers({ id: 't-3', voidPendingId: 'p-1', amount: 500n })).thenStatuses('created');
  });

  it('rejects timeoutSeconds on a post', () => {
    given(alice, bob, reserve).when(createTransfers({ id: 't-3', postPendingId: 'p-1', timeoutSeconds: 5 })).thenRejects('timeout_reserved_for_pending_transfer');
  });

  it('idempotent post: the retry answers exists even though the pending is now resolved', () => {
    const posted = pendingPosted('t-3', reserve, 400n);
    given(alice, bob, reserve, posted).when(createTransfers({ id: 't-3', postPendingId: 'p-1', amount: 400n })).then().thenStatuses('exists');
    given(alice, bob, reserve, posted).when(createTransfers({ id: 't-3', postPendingId: 'p-1', amount: 400n, debitAccountId: 'alice' })).thenStatuses('exists');
  });

  it('idempotent post compares the meaning: no amount means the full amount', () => {
    const full = pendingPosted('t-3', reserve);
    const partial = pendingPosted('t-3', reserve, 400n);
    given(alice, bob, reserve, full).when(createTransfers({ id: 't-3', postPendingId: 'p-1', amount: 500n })).thenStatuses('exists');
    given(alice, bob, reserve, partial).when(createTransfers({ id: 't-3', postPendingId: 'p-1' })).thenRejects('exists_with_different_fields');
    given(alice, bob, reserve, partial).when(createTransfers({ id: 't-3', voidPendingId: 'p-1' })).thenRejects('exists_with_different_fields');
    given(alice, bob, reserve, partial).when(createTransfers({ id: 't-3', postPendingId: 'p-1', amount: 400n, userData: 'x' })).thenRejects('exists_with_different_fields');
    given(alice, bob, carol, reserve, partial)
      .when(createTransfers({ id: 't-3', postPendingId: 'p-1', amount: 400n, creditAccountId: 'carol' }))
      .thenRejects('exists_with_different_fields');
  });

  it('idempotent pending: timeoutSeconds is part of the body', () => {
    const input = { id: 'p-1', debitAccountId: 'alice', creditAccountId: 'bob', amount: 500n, ledger: 1, code: 1, pending: true };
    given(alice, bob, reserve).when(createTransfers({ ...input, timeoutSeconds: 30 })).thenStatuses('exists');
    given(alice, bob, reserve).when(createTransfers({ ...input, timeoutSeconds: 31 })).thenRejects('exists_with_different_fields');
    given(alice, bob, reserve).when(createTransfers({ ...input, pending: false })).thenRejects('exists_with_different_fields');
  });

  it('a reserve counts against debitsMustNotExceedCredits; voiding it frees the funds', () => {
    const guarded = accountCreated('alice', { debitsMustNotExceedCredits: true });
    const funded = transferCreated('fund', 'bob', 'alice', 500n);
    given(guarded, bob, funded, reserve)
      .when(createTransfers(
        { id: 't-1', debitAccountId: 'alice', creditAccountId: 'bob', amount: 1n, ledger: 1, code: 1 },
        { id: 't-4', voidPendingId: 'p-1' },
        { id: 't-5', debitAccountId: 'alice', creditAccountId: 'bob', amount: 500n, ledger: 1, code: 1 },
      ))
      .thenStatuses('insufficient_funds', 'created', 'created');
  });
});
