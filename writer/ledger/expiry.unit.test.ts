import { describe, expect, it } from 'vitest';
import { decide } from './decide.ts';
import { evolve } from './evolve.ts';
import { dueExpiries, nextExpiryDue } from './expiry-query.ts';
import {
  accountCreated,
  createTransfers,
  createTransfersAt,
  expirePendingTransfers,
  given,
  pendingExpired,
  pendingPosted,
  stateOf,
  testNow,
  transferCreated,
} from './given-when-then.ts';
import { expiriesPerCommandMax } from './limits.ts';
import { fork } from './speculative-state.ts';
import type { TransferInput } from './transfer.ts';

const alice = accountCreated('alice');
const bob = accountCreated('bob');
const short = transferCreated('p-short', 'alice', 'bob', 10n, { pending: true, timeoutSeconds: 10 });
const long = transferCreated('p-long', 'alice', 'bob', 20n, { pending: true, timeoutSeconds: 60 });
const forever = transferCreated('p-forever', 'alice', 'bob', 30n, { pending: true });
const sameTimeB = transferCreated('p-b', 'alice', 'bob', 1n, { pending: true, timeoutSeconds: 10 });
const sameTimeA = transferCreated('p-a', 'alice', 'bob', 2n, { pending: true, timeoutSeconds: 10 });

describe('ExpirePendingTransfers', () => {
  it('expires only what is due, earliest first, ties by id; releases the reserve', () => {
    const at = testNow + 10_000;
    const { state } = given(alice, bob, long, short, forever, sameTimeB, sameTimeA)
      .when(expirePendingTransfers(at))
      .then(pendingExpired(sameTimeA, at), pendingExpired(sameTimeB, at), pendingExpired(short, at));
    expect(state.transfer('p-short')).toMatchObject({ pendingStatus: 'expired', resolvedBy: undefined });
    expect(state.account('alice')).toMatchObject({ debitsPending: 50n, debitsPosted: 0n });
    expect(nextExpiryDue(state)).toBe(testNow + 60_000);
  });

  it('emits nothing before the timeout', () => {
    given(alice, bob, short).when(expirePendingTransfers(testNow + 9_999)).then();
  });

  it('never expires a resolved or already expired transfer', () => {
    const at = testNow + 10_000;
    given(alice, bob, short, pendingPosted('t-1', short)).when(expirePendingTransfers(at)).then();
    given(alice, bob, short, pendingExpired(short, at)).when(expirePendingTransfers(at + 1)).then();
  });

  it(`is bounded: at most expiriesPerCommandMax (${expiriesPerCommandMax}) per command, the rest next time`, () => {
    const pendings: TransferInput[] = Array.from({ length: expiriesPerCommandMax + 5 }, (_, index) => ({
      id: `p-${index}`, debitAccountId: 'alice', creditAccountId: 'bob', amount: 1n, ledger: 1, code: 1, pending: true, timeoutSeconds: 1,
    }));
    const state = stateOf([alice, bob]);
    for (const batch of [pendings.slice(0, 8000), pendings.slice(8000)]) {
      const outcome = decide(createTransfers(...batch), state);
      if (outcome.type !== 'accepted') throw new Error('rejected');
      for (const event of outcome.events) evolve(state, event);
    }
    const first = decide(expirePendingTransfers(testNow + 1_000), state);
    expect(first.type === 'accepted' && first.events.length).toBe(expiriesPerCommandMax);
    if (first.type === 'accepted') for (const event of first.events) evolve(state, event);
    const second = decide(expirePendingTransfers(testNow + 1_000), state);
    expect(second.type === 'accepted' && second.events.length).toBe(5);
  });
});

describe('nextExpiryDue / dueExpiries', () => {
  it('answers from the committed store', () => {
    const state = stateOf([alice, bob, long, short, forever]);
    expect(nextExpiryDue(state)).toBe(testNow + 10_000);
    expect(dueExpiries(state, testNow + 60_000, 10)).toEqual([
      { id: 'p-short', timeoutAt: testNow + 10_000 },
      { id: 'p-long', timeoutAt: testNow + 60_000 },
    ]);
    expect(dueExpiries(state, testNow + 60_000, 1)).toEqual([{ id: 'p-short', timeoutAt: testNow + 10_000 }]);
    expect(dueExpiries(state, testNow, 10)).toEqual([]);
    expect(nextExpiryDue(stateOf([alice, bob, forever]))).toBeUndefined();
  });

  it('an overlay sees its own pendings and hides the ones it resolved, without touching the parent', () => {
    const committed = stateOf([alice, bob, long, short]);
    const overlay = fork(committed);
    const earliest = transferCreated('p-early', 'alice', 'bob', 5n, { pending: true, timeoutSeconds: 5 });
    evolve(overlay, earliest);
    evolve(overlay, pendingPosted('t-1', short));
    expect(dueExpiries(overlay, testNow + 60_000, 10).map((entry) => entry.id)).toEqual(['p-early', 'p-long']);
    expect(nextExpiryDue(overlay)).toBe(testNow + 5_000);
    expect(dueExpiries(committed, testNow + 60_000, 10).map((entry) => entry.id)).toEqual(['p-short', 'p-long']);
    // The apply loop catching up with the same events does not make the overlay see them twice.
    evolve(committed, earliest);
    evolve(committed, pendingPosted('t-1', short));
    expect(dueExpiries(overlay, testNow + 60_000, 10).map((entry) => entry.id)).toEqual(['p-early', 'p-long']);
  });

  it('posting at the deadline is refused even though the expiry event has not been decided yet', () => {
    given(alice, bob, short).when(createTransfersAt(testNow + 10_000, { id: 't-1', postPendingId: 'p-short' })).thenRejects('pending_transfer_expired');
  });
});
