import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evolve } from './evolve.ts';
import type { LedgerEvent, TransferCreated } from './events.ts';
import { nextExpiryDue } from './expiry-query.ts';
import { accountCreated, pendingExpired, pendingPosted, pendingVoided, stateOf, testNow, transferCreated } from './given-when-then.ts';
import { checkInvariants } from './invariants.ts';
import { CommittedLedgerState } from './ledger-state.ts';
import { decodeBinarySnapshot, encodeBinarySnapshot, isBinarySnapshot, SnapshotEncoder } from './snapshot-encoder.ts';
import { decodeSnapshot, encodeSnapshot, SnapshotDecodeError } from './snapshot.ts';
import { stateDigest } from './state-digest.ts';

/** A history touching every kind of record and field: flags, userData, pending with timeouts, post, void, expiry, huge amounts. */
function history(prefix: string, accounts: number, transfers: number): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  for (let index = 0; index < accounts; index += 1) {
    events.push(accountCreated(`${prefix}a${index}`, { ledger: 1 + (index % 2), userData: index % 3 === 0 ? `ü-${index}\t"x"` : undefined }));
  }
  const pendings: TransferCreated[] = [];
  for (let index = 0; index < transfers; index += 1) {
    const ledger = 1 + (index % 2);
    const debit = `${prefix}a${(2 * index + ledger - 1) % accounts}`;
    const credit = `${prefix}a${(2 * index + ledger + 1) % accounts}`;
    if (index % 5 === 1) {
      const pending = transferCreated(`${prefix}p${index}`, debit, credit, BigInt(index + 1), { ledger, pending: true, timeoutSeconds: index % 2 === 0 ? 0 : 60 });
      pendings.push(pending);
      events.push(pending);
    } else if (index % 5 === 2 && pendings.length > 0) {
      const pending = pendings.shift()!;
      events.push(index % 3 === 0 ? pendingVoided(`${prefix}r${index}`, pending) : pendingPosted(`${prefix}r${index}`, pending));
    } else if (index % 5 === 3 && pendings.some((pending) => pending.data.timeoutAt !== undefined)) {
      const due = pendings.splice(pendings.findIndex((pending) => pending.data.timeoutAt !== undefined), 1)[0]!;
      events.push(pendingExpired(due, due.data.timeoutAt!));
    } else {
      events.push(transferCreated(`${prefix}t${index}`, debit, credit, index === 0 ? 4_611_686_018_427_387_904n : BigInt(index + 1), { ledger, userData: index % 7 === 0 ? 'memo' : undefined }));
    }
  }
  return events;
}

describe('binary sliced snapshot', () => {
  it('decodes to a state with the same digest, seq, records and expiry index as the original', () => {
    const state = stateOf(history('', 12, 400));
    const bytes = encodeBinarySnapshot(state.beginSnapshotView());
    expect(isBinarySnapshot(bytes)).toBe(true);
    const restored = decodeBinarySnapshot(bytes);
    expect(stateDigest(restored)).toBe(stateDigest(state));
    expect(restored.lastSeq).toBe(state.lastSeq);
    expect([...restored.accounts()]).toEqual([...state.accounts()]);
    expect([...restored.transfers()]).toEqual([...state.transfers()]);
    expect(nextExpiryDue(restored)).toBe(nextExpiryDue(state));
    expect(checkInvariants(restored)).toEqual([]);
    // decodeSnapshot reads it as well as the canonical JSON form.
    expect(stateDigest(decodeSnapshot(bytes))).toBe(stateDigest(state));
    expect(stateDigest(decodeSnapshot(encodeSnapshot(state)))).toBe(stateDigest(state));
  });

  it('reads the state as it was when the view began, while evolve goes on between slices', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 40 }), (sliceRecords, before, interleaved) => {
      const events = history('', 10, before + 300);
      const state = stateOf(events.slice(0, 10 + before));
      const expected = stateDigest(state);
      const expectedSeq = state.lastSeq;
      const view = state.beginSnapshotView();
      const encoder = new SnapshotEncoder(view);
      const pieces: Uint8Array[] = [];
      let next = 10 + before;
      for (let piece = encoder.next(sliceRecords); piece !== undefined; piece = encoder.next(sliceRecords)) {
        pieces.push(piece);
        // The apply loop runs between slices: counters change in place, pending transfers resolve, new records arrive.
        for (let count = 0; count < interleaved && next < events.length; count += 1, next += 1) evolve(state, events[next]!);
      }
      view.end();
      const restored = decodeBinarySnapshot(Buffer.concat(pieces));
      expect(stateDigest(restored)).toBe(expected);
      expect(restored.lastSeq).toBe(expectedSeq);
      // And the live state really moved on (the property would be vacuous otherwise).
      if (next > 10 + before) expect(stateDigest(state)).not.toBe(expected);
    }), { numRuns: 60 });
  });

  it('reuses unchanged transfer chunks across snapshots and restores, and still encodes exactly the state at each view', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 30 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 120 }), fc.boolean()), { minLength: 2, maxLength: 5 }), (chunkRecords, interleaved, steps) => {
      const events = history('', 10, 10 + steps.reduce((sum, [step]) => sum + step, 0) + 5 * interleaved * steps.length + 20);
      let state = new CommittedLedgerState({ transferChunkRecords: chunkRecords });
      let applied = 0;
      const apply = (count: number) => {
        for (let taken = 0; taken < count && applied < events.length; taken += 1, applied += 1) evolve(state, events[applied]!);
      };
      for (const [step, restoreAfter] of steps) {
        apply(10 + step);
        const atView = applied;
        const view = state.beginSnapshotView();
        const encoder = new SnapshotEncoder(view);
        const pieces: Uint8Array[] = [];
        for (let piece = encoder.next(3); piece !== undefined; piece = encoder.next(3)) {
          pieces.push(piece);
          apply(interleaved); // pending transfers resolve and expire meanwhile, in chunks already encoded and not yet
        }
        view.end();
        // Byte for byte what a state that never took a snapshot encodes for the same events.
        const bytes = Buffer.concat(pieces);
        const fresh = events.slice(0, atView).reduce((folded, event) => evolve(folded, event), new CommittedLedgerState());
        expect(bytes.equals(Buffer.from(encodeBinarySnapshot(fresh.beginSnapshotView())))).toBe(true);
        if (restoreAfter) {
          // Go on from this snapshot as a restarted node would: the events after it are applied again.
          state = decodeBinarySnapshot(bytes, { transferChunkRecords: chunkRecords });
          applied = atView;
        }
      }
    }), { numRuns: 150 });
  });

  it('encodes only the chunks a change touched', () => {
    const events = history('', 10, 400);
    const accounts = events.filter((event) => event.type === 'AccountCreated');
    const settled = events.filter((event) => event.type === 'TransferCreated' && !event.data.pending);
    const pending = transferCreated('early-p', 'a0', 'a2', 5n, { pending: true });
    const state = new CommittedLedgerState({ transferChunkRecords: 10 });
    // The pending transfer is the 16th record: in chunk 1 of 10-record chunks.
    for (const event of [...accounts, ...settled.slice(0, 15), pending, ...settled.slice(15)]) evolve(state, event);
    const snapshot = (of: CommittedLedgerState = state) => {
      const view = of.beginSnapshotView();
      const encoder = new SnapshotEncoder(view);
      const pieces: Uint8Array[] = [];
      for (let piece = encoder.next(); piece !== undefined; piece = encoder.next()) pieces.push(piece);
      view.end();
      return { encoder, bytes: Buffer.concat(pieces) };
    };
    const wholeChunks = Math.floor(state.transferCount / 10);
    expect(wholeChunks).toBeGreaterThan(5);
    const first = snapshot();
    expect(first.encoder.reusedChunks).toBe(0);
    expect(first.encoder.encodedChunks).toBe(Math.ceil(state.transferCount / 10));
    // Nothing changed: every whole chunk comes from the cache, only a partial last one is encoded.
    const again = snapshot();
    expect(again.encoder.reusedChunks).toBe(wholeChunks);
    expect(again.bytes.equals(first.bytes)).toBe(true);
    // Posting the pending transfer changes one record in chunk 1; the resolution and 25 more transfers are appended.
    evolve(state, pendingPosted('early-r', pending));
    for (let index = 0; index < 25; index += 1) evolve(state, transferCreated(`late-t${index}`, 'a0', 'a2', 1n));
    const third = snapshot();
    const restored = decodeBinarySnapshot(third.bytes);
    expect(stateDigest(restored)).toBe(stateDigest(state));
    expect(restored.transfer('early-p')?.pendingStatus).toBe('posted');
    expect(third.encoder.reusedChunks).toBe(wholeChunks - 1);
    expect(third.encoder.encodedChunks).toBe(Math.ceil(state.transferCount / 10) - (wholeChunks - 1));

    // A state decoded from a snapshot (a restarted node, a follower that installed one) keeps the
    // whole chunks it read, so its first snapshot encodes only what changed since.
    const restoredChunked = decodeBinarySnapshot(first.bytes, { transferChunkRecords: 10 });
    const fromRestored = snapshot(restoredChunked);
    expect(fromRestored.encoder.reusedChunks).toBe(wholeChunks);
    expect(fromRestored.bytes.equals(first.bytes)).toBe(true);
    evolve(restoredChunked, pendingPosted('early-r', pending));
    const afterChange = snapshot(restoredChunked);
    expect(afterChange.encoder.reusedChunks).toBe(wholeChunks - 1);
    const decoded = decodeBinarySnapshot(afterChange.bytes);
    expect(stateDigest(decoded)).toBe(stateDigest(restoredChunked));
    expect(decoded.transfer('early-p')?.pendingStatus).toBe('posted');
  });

  it('allows one view at a time and stops recording once ended', () => {
    const state = stateOf(history('', 4, 10));
    const view = state.beginSnapshotView();
    expect(() => state.beginSnapshotView()).toThrow(/one snapshot view at a time/);
    view.end();
    const again = state.beginSnapshotView();
    expect(again.transferCount).toBe(10);
    again.end();
  });

  it('refuses corrupt or truncated bytes, naming what is wrong', () => {
    const state = stateOf(history('', 4, 6));
    const bytes = Buffer.from(encodeBinarySnapshot(state.beginSnapshotView()));
    expect(() => decodeSnapshot(bytes.subarray(0, bytes.length - 3))).toThrow(SnapshotDecodeError);
    expect(() => decodeSnapshot(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/after the last transfer/);
    const badId = Buffer.from(bytes);
    badId[8] = 0x20; // first character of the first account id (after magic, lastSeq, counts and the length byte)
    expect(() => decodeSnapshot(badId)).toThrow(/account\.id/);
    const repeated = stateOf([accountCreated('x')]);
    const one = Buffer.from(encodeBinarySnapshot(repeated.beginSnapshotView()));
    // Claim two accounts and append the same record again: the id repeats.
    const twice = Buffer.concat([one.subarray(0, 5), Buffer.from([2]), one.subarray(6), one.subarray(7)]);
    expect(() => decodeSnapshot(twice)).toThrow(/repeats an id/);
  });

  it('keeps the expiry deadline of a pending transfer with a timeout', () => {
    const pending = transferCreated('p', 'a', 'b', 5n, { pending: true, timeoutSeconds: 30 });
    const state = stateOf([accountCreated('a'), accountCreated('b'), pending]);
    const restored = decodeBinarySnapshot(encodeBinarySnapshot(state.beginSnapshotView()));
    expect(nextExpiryDue(restored)).toBe(testNow + 30_000);
  });
});
