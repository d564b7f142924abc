import { describe, expect, it } from 'vitest';
import { accountCreated, pendingPosted, stateOf, transferCreated } from './given-when-then.ts';
import { checkInvariants } from './invariants.ts';
import type { Account } from './account.ts';

const alice = accountCreated('alice', { debitsMustNotExceedCredits: true });
const bob = accountCreated('bob');
const operator = accountCreated('operator');
const funded = transferCreated('fund', 'operator', 'alice', 100n);
const reserve = transferCreated('p-1', 'alice', 'bob', 40n, { pending: true, timeoutSeconds: 9 });

function healthy() {
  return stateOf([alice, bob, operator, funded, reserve]);
}

describe('checkInvariants', () => {
  it('finds nothing wrong in a state built by evolve', () => {
    expect(checkInvariants(healthy())).toEqual([]);
  });

  it('detects unbalanced posted totals and counters that disagree with transfers', () => {
    const state = healthy();
    state.putAccount({ ...(state.account('bob') as Account), creditsPosted: 1n });
    expect(checkInvariants(state).map((violation) => violation.code).sort()).toEqual(['counters_disagree_with_transfers', 'posted_totals_unbalanced']);
  });

  it('detects unbalanced pending totals', () => {
    const state = healthy();
    state.putAccount({ ...(state.account('bob') as Account), creditsPending: 0n });
    expect(checkInvariants(state).map((violation) => violation.code)).toContain('pending_totals_unbalanced');
  });

  it('detects a violated balance flag and a negative counter', () => {
    const state = healthy();
    state.putAccount({ ...(state.account('alice') as Account), debitsPosted: 500n, creditsPending: -1n });
    const codes = checkInvariants(state).map((violation) => violation.code);
    expect(codes).toContain('balance_flag_violated');
    expect(codes).toContain('counter_out_of_range');
  });

  it('detects a pending transfer resolved twice', () => {
    const state = stateOf([alice, bob, operator, funded, reserve, pendingPosted('t-1', reserve, 10n)]);
    const firstPost = state.transfer('t-1');
    if (firstPost === undefined) throw new Error('missing');
    state.putTransfer({ ...firstPost, id: 't-2' });
    const codes = checkInvariants(state).map((violation) => violation.code);
    expect(codes).toContain('pending_resolved_more_than_once');
    expect(codes).toContain('pending_resolution_inconsistent');
  });

  it('detects a pending marked resolved without its resolution, and a stale expiry index', () => {
    const state = healthy();
    const pending = state.transfer('p-1');
    if (pending === undefined) throw new Error('missing');
    state.putTransfer({ ...pending, timeoutAt: undefined, pendingStatus: 'posted', resolvedBy: 'nothing' });
    const codes = checkInvariants(state).map((violation) => violation.code);
    expect(codes).toContain('pending_resolution_inconsistent');
    expect(codes).toContain('counters_disagree_with_transfers');
  });
});
