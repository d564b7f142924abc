import { describe, expect, it } from 'vitest';
import { decide, decideAndEvolve } from './decide.ts';
import { evolve } from './evolve.ts';
import { accountCreated, createTransfers, stateOf, transferCreated } from './given-when-then.ts';
import { checkInvariants } from './invariants.ts';
import { createSpeculativeState, fork } from './speculative-state.ts';
import { stateDigest } from './state-digest.ts';
import type { LedgerEvent } from './events.ts';
import type { TransferInput } from './transfer.ts';

const alice = accountCreated('alice', { debitsMustNotExceedCredits: true });
const bob = accountCreated('bob');
const operator = accountCreated('operator');
const funded = transferCreated('fund', 'operator', 'alice', 100n);

function move(id: string, amount: bigint): TransferInput {
  return { id, debitAccountId: 'alice', creditAccountId: 'bob', amount, ledger: 1, code: 1 };
}

function accepted(outcome: ReturnType<typeof decide>): LedgerEvent[] {
  if (outcome.type !== 'accepted') throw new Error(`rejected: ${outcome.rejection.code}`);
  return outcome.events;
}

describe('speculative state (copy-on-write overlay)', () => {
  it('no double spend across consecutive uncommitted batches', () => {
    const committed = stateOf([alice, bob, operator, funded]);
    const speculative = createSpeculativeState(committed);
    const first = decideAndEvolve(createTransfers(move('t-1', 80n)), speculative);
    const second = decideAndEvolve(createTransfers(move('t-2', 80n), move('t-3', 20n)), speculative);
    expect(first.type === 'accepted' && first.results.map((result) => result.status)).toEqual(['created']);
    expect(second.type === 'accepted' && second.results.map((result) => result.status)).toEqual(['insufficient_funds', 'created']);
    // Nothing committed yet: the committed store still has the full 100 available.
    expect(committed.account('alice')).toMatchObject({ debitsPosted: 0n });
    expect(committed.lastSeq).toBe(4);
    expect(speculative.lastSeq).toBe(6);
  });

  it('events decided on the overlay, applied later to the store, give the state the overlay showed', () => {
    const committed = stateOf([alice, bob, operator, funded]);
    const speculative = createSpeculativeState(committed);
    const log: LedgerEvent[] = [];
    for (const command of [
      createTransfers(move('t-1', 10n), { ...move('p-1', 30n), pending: true, timeoutSeconds: 5 }),
      createTransfers({ id: 't-2', postPendingId: 'p-1', amount: 25n }, move('t-3', 70n)),
    ]) {
      log.push(...accepted(decideAndEvolve(command, speculative)));
    }
    const overlayDigest = stateDigest(speculative);
    for (const event of log) evolve(committed, event);
    expect(stateDigest(committed)).toBe(overlayDigest);
    expect(committed.lastSeq).toBe(speculative.lastSeq);
    expect(checkInvariants(committed)).toEqual([]);
    // Once the store caught up, the overlay still reads the same (it is ahead or equal).
    expect(stateDigest(speculative)).toBe(overlayDigest);
  });

  it('discarding the overlay (leadership lost) leaves the committed store untouched', () => {
    const committed = stateOf([alice, bob, operator, funded]);
    const before = stateDigest(committed);
    const speculative = fork(committed);
    accepted(decideAndEvolve(createTransfers(move('t-1', 10n), { ...move('p-1', 30n), pending: true, timeoutSeconds: 5 }), speculative));
    expect(stateDigest(speculative)).not.toBe(before);
    expect(stateDigest(committed)).toBe(before);
    expect(committed.transfer('t-1')).toBeUndefined();
  });

  it('rebuild from the committed store and the uncommitted suffix equals the discarded overlay', () => {
    const committed = stateOf([alice, bob, operator, funded]);
    const speculative = createSpeculativeState(committed);
    const first = accepted(decideAndEvolve(createTransfers(move('t-1', 10n)), speculative));
    const second = accepted(decideAndEvolve(createTransfers(move('t-2', 20n)), speculative));
    for (const event of first) evolve(committed, event);
    const rebased = createSpeculativeState(committed, second);
    expect(stateDigest(rebased)).toBe(stateDigest(speculative));
    expect(rebased.changedRecordCount).toBeLessThan(speculative.changedRecordCount);
  });

  it('an overlay of an overlay reads through both and writes to neither parent', () => {
    const committed = stateOf([alice, bob, operator, funded]);
    const middle = fork(committed);
    evolve(middle, transferCreated('t-1', 'alice', 'bob', 10n));
    const top = fork(middle);
    evolve(top, transferCreated('p-x', 'alice', 'bob', 1n, { pending: true }));
    expect(top.account('alice')).toMatchObject({ debitsPosted: 10n, debitsPending: 1n });
    expect(middle.account('alice')).toMatchObject({ debitsPosted: 10n, debitsPending: 0n });
    expect(committed.account('alice')).toMatchObject({ debitsPosted: 0n, debitsPending: 0n });
    expect([...top.transfers()].map((transfer) => transfer.id).sort()).toEqual(['fund', 'p-x', 't-1']);
    expect([...top.accounts()]).toHaveLength(3);
  });

  it('decide never writes the state it is given', () => {
    const committed = stateOf([alice, bob, operator, funded]);
    const before = stateDigest(committed);
    const outcome = decide(createTransfers(move('t-1', 10n), move('t-2', 10n)), committed);
    expect(accepted(outcome)).toHaveLength(2);
    expect(stateDigest(committed)).toBe(before);
    expect(committed.lastSeq).toBe(4);
  });
});
