// Property: any sequence of persist (appends, truncations, hard states, received snapshots),
// saveSnapshot, compact and reopen leaves the storage recovering exactly what an in-memory model
// of a node's durable state holds.

import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../raft/entry.ts';
import type { Snapshot } from '../raft/message.ts';
import type { HardState, PersistentState } from '../raft/persistent-state.ts';
import type { RaftStorage } from './raft-storage.ts';
import { describeEntries, openStorage, ready, removeTemporaryDirectories, snapshot, temporaryDirectory } from './test-fixtures.ts';

afterEach(removeTemporaryDirectories);

type Step =
  | { type: 'append'; data: { backBy: number; count: number; termBump: number; withHardState: boolean; commitFraction: number; payloadBytes: number } }
  | { type: 'hard_state'; data: { termBump: number; commitFraction: number; vote: boolean } }
  | { type: 'install_snapshot'; data: { ahead: number } }
  | { type: 'save_snapshot'; data: { fraction: number } }
  | { type: 'compact'; data: { fraction: number } }
  | { type: 'reopen'; data: Record<string, never> };

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    backBy: fc.nat(4), count: fc.integer({ min: 1, max: 4 }), termBump: fc.integer({ min: 0, max: 1 }),
    withHardState: fc.boolean(), commitFraction: fraction, payloadBytes: fc.nat(60),
  }).map((data): Step => ({ type: 'append', data })) },
  { weight: 2, arbitrary: fc.record({ termBump: fc.integer({ min: 0, max: 1 }), commitFraction: fraction, vote: fc.boolean() })
    .map((data): Step => ({ type: 'hard_state', data })) },
  { weight: 1, arbitrary: fc.record({ ahead: fc.integer({ min: 1, max: 5 }) }).map((data): Step => ({ type: 'install_snapshot', data })) },
  { weight: 2, arbitrary: fc.record({ fraction }).map((data): Step => ({ type: 'save_snapshot', data })) },
  { weight: 2, arbitrary: fc.record({ fraction }).map((data): Step => ({ type: 'compact', data })) },
  { weight: 2, arbitrary: fc.constant<Step>({ type: 'reopen', data: {} }) },
);

/** The node's durable state as the Raft core would rebuild it. */
class Model {
  hardState: HardState = { term: 0, votedFor: null, commit: 0 };
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  #payloadCounter = 0;

  get snapshotIndex(): number {
    return this.snapshot?.metadata.index ?? 0;
  }

  get lastIndex(): number {
    return this.entries[this.entries.length - 1]?.index ?? this.snapshotIndex;
  }

  termAt(index: number): number {
    if (index === this.snapshotIndex) return this.snapshot?.metadata.term ?? 0;
    return this.entries[index - this.snapshotIndex - 1]!.term;
  }

  payload(bytes: number): Uint8Array {
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) data[i] = (this.#payloadCounter + i) % 251;
    this.#payloadCounter++;
    return data;
  }
}

/** An integer in [low, highInclusive] picked by `at` in [0, 1). */
function between(low: number, highInclusive: number, at: number): number {
  return low + Math.floor((highInclusive - low + 1) * at);
}

function run(steps: readonly Step[], segmentBytesMax: number): void {
  const directory = temporaryDirectory();
  const model = new Model();
  let storage: RaftStorage = openStorage(directory, { segmentBytesMax }).storage;
  const check = (state: PersistentState): void => {
    expect(state.hardState).toEqual(model.hardState);
    expect(state.snapshot?.metadata).toEqual(model.snapshot?.metadata);
    expect(state.snapshot === undefined ? undefined : [...state.snapshot.data]).toEqual(
      model.snapshot === undefined ? undefined : [...model.snapshot.data],
    );
    expect(describeEntries(state.entries.filter((item) => item.index > model.snapshotIndex))).toEqual(describeEntries(model.entries));
  };
  try {
    for (const current of steps) {
      switch (current.type) {
        case 'append': {
          const { backBy, count, termBump, withHardState, commitFraction, payloadBytes } = current.data;
          const first = Math.max(model.hardState.commit + 1, model.snapshotIndex + 1, model.lastIndex + 1 - backBy);
          const term = Math.max(model.termAt(first - 1), model.hardState.term) + termBump;
          const appended: Entry[] = [];
          for (let index = first; index < first + count; index++) {
            appended.push({ index, term, kind: index % 3 === 0 ? 'noop' : 'normal', data: model.payload(payloadBytes) });
          }
          model.entries = [...model.entries.slice(0, first - model.snapshotIndex - 1), ...appended];
          let hardState: HardState | undefined;
          if (withHardState) {
            hardState = { term, votedFor: model.hardState.votedFor, commit: between(model.hardState.commit, model.lastIndex, commitFraction) };
            model.hardState = hardState;
          }
          storage.persist(ready({ entries: appended, hardState }));
          break;
        }
        case 'hard_state': {
          const { termBump, commitFraction, vote } = current.data;
          model.hardState = {
            term: model.hardState.term + termBump,
            votedFor: vote ? 'node-2' : null,
            commit: between(model.hardState.commit, model.lastIndex, commitFraction),
          };
          storage.persist(ready({ hardState: model.hardState }));
          break;
        }
        case 'install_snapshot': {
          const index = Math.max(model.hardState.commit, model.lastIndex) + current.data.ahead;
          const received = snapshot(index, Math.max(model.hardState.term, 1), `received ${index}`);
          model.snapshot = received;
          model.entries = [];
          model.hardState = { ...model.hardState, term: received.metadata.term, commit: index };
          storage.persist(ready({ snapshot: received, hardState: model.hardState }));
          break;
        }
        case 'save_snapshot': {
          if (model.hardState.commit <= model.snapshotIndex) break;
          const index = between(model.snapshotIndex + 1, model.hardState.commit, current.data.fraction);
          const taken = snapshot(index, model.termAt(index), `taken ${index}`);
          model.entries = model.entries.slice(index - model.snapshotIndex);
          model.snapshot = taken;
          storage.saveSnapshot(taken);
          break;
        }
        case 'compact':
          storage.compact(between(0, model.snapshotIndex, current.data.fraction));
          break;
        case 'reopen': {
          storage.close();
          const opened = openStorage(directory, { segmentBytesMax });
          expect(opened.recovery.tornTail).toBeUndefined();
          check(opened.state);
          storage = opened.storage;
          break;
        }
        default: {
          const _exhaustive: never = current;
          throw new Error(`unknown step ${String(_exhaustive)}`);
        }
      }
    }
  } finally {
    storage.close();
  }
  const final = openStorage(directory, { segmentBytesMax });
  check(final.state);
  final.storage.close();
}

describe('RaftStorage against an in-memory model', () => {
  it('recovers what the model holds after any sequence of persist, snapshot, compact and reopen', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 400 }), (steps, segmentBytesMax) => {
        run(steps, segmentBytesMax);
        removeTemporaryDirectories();
      }),
      { numRuns: 100 },
    );
  });
});
