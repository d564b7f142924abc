// Property: any sequence of persist (appends, truncations, hard states, received snapshots),
// saveSnapshot, compact, reopen and crashes that tear the last append leaves the storage
// recovering exactly what an in-memory model of a node's durable state holds.

import fc from 'fast-check';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../raft/entry.ts';
import type { Snapshot } from '../raft/message.ts';
import type { HardState, PersistentState } from '../raft/persistent-state.ts';
import { recordHeaderBytes } from './log-record.ts';
import type { RaftStorage } from './raft-storage.ts';
import {
  describeEntries,
  lastSegmentPath,
  openStorage,
  ready,
  removeTemporaryDirectories,
  segmentFiles,
  snapshot,
  temporaryDirectory,
} from './test-fixtures.ts';

afterEach(removeTemporaryDirectories);

type Step =
  | { type: 'append'; data: {
    backBy: number; count: number; termBump: number; withHardState: boolean; commitFraction: number; payloadBytes: number;
    /** Power loss right after: the batch is cut at this fraction of its bytes. */
    crashAt: number | null;
  } }
  | { type: 'hard_state'; data: { termBump: number; commitFraction: number; vote: boolean } }
  | { type: 'install_snapshot'; data: { ahead: number } }
  | { type: 'save_snapshot'; data: { fraction: number } }
  | { type: 'compact'; data: { fraction: number } }
  | { type: 'reopen'; data: Record<string, never> }
  /** Power loss during the last append: its batch is cut at a fraction of its bytes. */
  | { type: 'crash'; data: { fraction: number } };

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
/** Spread evenly (fc.double favours the extremes): where a crash cuts a batch. */
const cutFraction = fc.integer({ min: 0, max: 9_999 }).map((value) => value / 10_000);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    backBy: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(4) }), count: fc.integer({ min: 1, max: 4 }), termBump: fc.integer({ min: 0, max: 1 }),
    withHardState: fc.boolean(), commitFraction: fraction, payloadBytes: fc.nat(60),
    crashAt: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: cutFraction }),
  }).map((data): Step => ({ type: 'append', data })) },
  { weight: 2, arbitrary: fc.record({ termBump: fc.integer({ min: 0, max: 1 }), commitFraction: fraction, vote: fc.boolean() })
    .map((data): Step => ({ type: 'hard_state', data })) },
  { weight: 1, arbitrary: fc.record({ ahead: fc.integer({ min: 1, max: 5 }) }).map((data): Step => ({ type: 'install_snapshot', data })) },
  { weight: 2, arbitrary: fc.record({ fraction }).map((data): Step => ({ type: 'save_snapshot', data })) },
  { weight: 2, arbitrary: fc.record({ fraction }).map((data): Step => ({ type: 'compact', data })) },
  { weight: 2, arbitrary: fc.constant<Step>({ type: 'reopen', data: {} }) },
  { weight: 1, arbitrary: fc.record({ fraction: cutFraction }).map((data): Step => ({ type: 'crash', data })) },
);

/** Tiny segments rotate on almost every call; larger ones let crashes tear appends. */
const segmentBytesMax = fc.oneof(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 2_000, max: 100_000 }));

/** The last persist() call, when it was a plain append to the active segment (what a crash tears). */
interface LastAppend {
  readonly entriesBefore: Entry[];
  readonly hardStateBefore: HardState;
  readonly appended: readonly Entry[];
  readonly hardState: HardState | undefined;
  readonly file: string;
  readonly sizeBefore: number;
}

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

let crashes = 0;

function run(steps: readonly Step[], segmentBytesMax: number): void {
  const directory = temporaryDirectory();
  const model = new Model();
  let storage: RaftStorage = openStorage(directory, { segmentBytesMax }).storage;
  let lastAppend: LastAppend | undefined;
  const crash = (append: LastAppend, at: number): void => {
    storage.close();
    const size = fs.statSync(append.file).size;
    const cut = append.sizeBefore + Math.floor((size - append.sizeBefore) * at);
    fs.truncateSync(append.file, cut);
    // What survives: the whole entry records before the cut, and the hard state if its record is whole.
    let offset = append.sizeBefore;
    let whole = 0;
    for (const item of append.appended) {
      const end = offset + recordHeaderBytes + 17 + item.data.length;
      if (end > cut) break;
      offset = end;
      whole++;
    }
    const hardStateRecordBytes = recordHeaderBytes + 18 + (append.hardState?.votedFor?.length ?? 0);
    const hardStateSurvives = whole === append.appended.length && offset + hardStateRecordBytes <= cut;
    model.entries = [...append.entriesBefore, ...append.appended.slice(0, whole)];
    model.hardState = append.hardState !== undefined && hardStateSurvives ? append.hardState : append.hardStateBefore;
    const opened = openStorage(directory, { segmentBytesMax });
    check(opened.state);
    storage = opened.storage;
    crashes++;
  };
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
      const appendBefore = lastAppend;
      lastAppend = undefined;
      switch (current.type) {
        case 'append': {
          const { backBy, count, termBump, withHardState, commitFraction, payloadBytes } = current.data;
          const first = Math.max(model.hardState.commit + 1, model.snapshotIndex + 1, model.lastIndex + 1 - backBy);
          const term = Math.max(model.termAt(first - 1), model.hardState.term) + termBump;
          const appended: Entry[] = [];
          for (let index = first; index < first + count; index++) {
            appended.push({ index, term, kind: index % 3 === 0 ? 'noop' : 'normal', data: model.payload(payloadBytes) });
          }
          const entriesBefore = model.entries;
          const hardStateBefore = model.hardState;
          const plain = first === model.lastIndex + 1;
          model.entries = [...model.entries.slice(0, first - model.snapshotIndex - 1), ...appended];
          let hardState: HardState | undefined;
          if (withHardState) {
            hardState = { term, votedFor: model.hardState.votedFor, commit: between(model.hardState.commit, model.lastIndex, commitFraction) };
            model.hardState = hardState;
          }
          const segmentsBefore = segmentFiles(directory);
          const file = segmentsBefore.length > 0 ? lastSegmentPath(directory) : undefined;
          const sizeBefore = file === undefined ? 0 : fs.statSync(file).size;
          storage.persist(ready({ entries: appended, hardState }));
          if (plain && file !== undefined && lastSegmentPath(directory) === file) {
            lastAppend = { entriesBefore, hardStateBefore, appended, hardState, file, sizeBefore };
            if (current.data.crashAt !== null) {
              crash(lastAppend, current.data.crashAt);
              lastAppend = undefined;
            }
          }
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
        case 'crash':
          if (appendBefore !== undefined) crash(appendBefore, current.data.fraction);
          break;
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
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), segmentBytesMax, (steps, bytesMax) => {
        run(steps, bytesMax);
        removeTemporaryDirectories();
      }),
      { numRuns: 150 },
    );
    // The crash path must actually be exercised, not just generated.
    expect(crashes).toBeGreaterThan(20);
  });
});
