/**
 * Eventual reads answered from memory while nothing they reflect can have changed.
 *
 * An entry is a read's answer, which carries `asOf {shard, seq}`: the live checkpoint of the row's
 * shard in the snapshot it was read from. The projector notifies every checkpoint advance (the
 * CheckpointWaiter hears them on its one LISTEN connection), and rows only change in batches that
 * advance the checkpoint. So while the checkpoint last heard for the shard is still ≤ `asOf.seq`
 * (and the live read-model version is the one read), a fresh read would return the same row —
 * the entry is served. Once a newer checkpoint is heard, the entry is dropped at its next lookup.
 * An answer read from an older snapshot than the checkpoint already heard is not stored.
 *
 * Only eventual reads without a floor use it (strong and read-your-writes reads wait and read
 * themselves). With the LISTEN connection down nothing is served or stored: invalidations could
 * be missed. Notifications arrive a few milliseconds after the commit; that is the staleness an
 * eventual read accepts anyway. Bounded: `entriesMax`, oldest inserted evicted first.
 */
import assert from 'node:assert/strict';
import type { AsOf } from './read-schemas.ts';

/** Entries kept by default (QUERY_READ_CACHE_ENTRIES). */
export const readCacheEntriesDefault = 100_000;

/** What the cache needs to know of the projection (CheckpointWaiter provides it). */
export interface CheckpointsHeard {
  readonly connected: boolean;
  readonly liveVersion: string | undefined;
  checkpoint(shard: number): number;
}

interface Entry {
  readonly value: { readonly asOf: AsOf };
  readonly version: string;
}

export class ReadCache {
  readonly #heard: CheckpointsHeard;
  readonly #entriesMax: number;
  readonly #entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(heard: CheckpointsHeard, entriesMax: number = readCacheEntriesDefault) {
    assert(Number.isSafeInteger(entriesMax) && entriesMax >= 0, 'entriesMax is a non-negative integer');
    this.#heard = heard;
    this.#entriesMax = entriesMax;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached answer for `key`, if it is still what a read would return now. */
  get<T extends { readonly asOf: AsOf }>(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && this.#current(entry)) {
      this.hits += 1;
      return entry.value as T;
    }
    if (entry !== undefined) this.#entries.delete(key);
    this.misses += 1;
    return undefined;
  }

  /** Stores a read's answer unless a newer checkpoint was already heard (or the cache is off). */
  set(key: string, value: { readonly asOf: AsOf }): void {
    const version = this.#heard.liveVersion;
    if (this.#entriesMax === 0 || !this.#heard.connected || version === undefined) return;
    if (value.asOf.seq < this.#heard.checkpoint(value.asOf.shard)) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.#entriesMax) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, version });
  }

  #current(entry: Entry): boolean {
    const heard = this.#heard;
    return heard.connected && heard.liveVersion === entry.version && heard.checkpoint(entry.value.asOf.shard) <= entry.value.asOf.seq;
  }
}
