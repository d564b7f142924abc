// A node's disk in the simulator: what is durable, and the one write that is staged but not yet
// synced. A crash loses the staged write, or leaves a torn tail (a prefix of its entries).

import assert from 'node:assert/strict';
import type { Entry } from '../entry.ts';
import type { Snapshot } from '../message.ts';
import type { HardState, PersistentState } from '../persistent-state.ts';
import type { Ready } from '../ready.ts';

export class SimulatedDisk {
  #hardState: HardState = { term: 0, votedFor: null, commit: 0 };
  #snapshot: Snapshot | undefined;
  #entries: Entry[] = [];
  #staged: Ready | undefined;

  get hasState(): boolean {
    return this.#hardState.term > 0 || this.#entries.length > 0 || this.#snapshot !== undefined;
  }

  get durableCommit(): number {
    return this.#hardState.commit;
  }

  stage(ready: Ready): void {
    assert(this.#staged === undefined, 'one write in flight per node');
    this.#staged = ready;
  }

  /** fsync completed: the staged write is durable. */
  sync(): void {
    const ready = this.#staged;
    assert(ready !== undefined, 'sync without a staged write');
    this.#staged = undefined;
    if (ready.snapshot !== undefined) this.#writeSnapshot(ready.snapshot);
    this.#appendEntries(ready.entries, ready.entries.length);
    if (ready.hardState !== undefined) {
      assert(ready.hardState.term >= this.#hardState.term, 'durable term regressed');
      assert(ready.hardState.commit >= this.#hardState.commit, 'durable commit regressed');
      this.#hardState = ready.hardState;
    }
    if (ready.compactedTo !== undefined) this.#entries = this.#entries.filter((entry) => entry.index > ready.compactedTo!);
  }

  /** The application persisted its own snapshot (taken before it called compact()). */
  writeApplicationSnapshot(snapshot: Snapshot): void {
    if (this.#snapshot === undefined || snapshot.metadata.index > this.#snapshot.metadata.index) this.#snapshot = snapshot;
  }

  /** Power loss: the staged write is lost, or `tornEntries` of its entries made it (torn tail). */
  crash(tornEntries: number): void {
    const ready = this.#staged;
    this.#staged = undefined;
    if (ready === undefined || ready.snapshot !== undefined) return;
    this.#appendEntries(ready.entries, Math.min(tornEntries, ready.entries.length));
  }

  stagedEntries(): number {
    return this.#staged?.entries.length ?? 0;
  }

  load(): PersistentState {
    return { hardState: this.#hardState, snapshot: this.#snapshot, entries: [...this.#entries] };
  }

  #writeSnapshot(snapshot: Snapshot): void {
    // A received snapshot replaces the whole log (the core reset its log to it).
    this.#snapshot = snapshot;
    this.#entries = [];
  }

  #appendEntries(entries: readonly Entry[], count: number): void {
    if (count === 0) return;
    const first = entries[0]!.index;
    const base = this.#entries[0]?.index ?? (this.#snapshot?.metadata.index ?? 0) + 1;
    this.#entries.length = Math.max(0, Math.min(this.#entries.length, first - base));
    const expected = (this.#entries[this.#entries.length - 1]?.index ?? base - 1) + 1;
    assert.equal(first, expected, 'durable log must stay contiguous');
    for (let i = 0; i < count; i++) this.#entries.push(entries[i]!);
  }
}
