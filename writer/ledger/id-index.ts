import assert from 'node:assert/strict';

/**
 * Transfer id → slot, for the millions of ids a writer holds: an open-addressing hash table
 * (linear probing) in one typed array, outside the JavaScript heap.
 *
 * A `Map` of that size was the writer's largest single cost: a profile of the batched benchmark
 * put 13–15% of every node's time in its lookups, mostly cache misses walking its chains, and an
 * append needed two (is the id taken? then set). Here a probe reads the table's own arrays, and a
 * string is compared only when its stored 32-bit hash matches; `insert` looks up and adds in one
 * probe. Each entry keeps its hash, so growing the table never rehashes a string. The strings
 * themselves stay with the owner, which answers `keyAt(slot)`. There is no deletion (the ledger
 * never deletes a transfer), and no 2^24 limit as a `Map` has.
 */
export class IdIndex {
  readonly #keyAt: (slot: number) => string;
  /** Two numbers per entry, side by side so that one cache line holds both: slot + 1 (0 = empty), hash. */
  #entries: Int32Array;
  #mask: number;
  #size = 0;

  constructor(keyAt: (slot: number) => string, initialCapacity = 1 << 16) {
    assert(Number.isInteger(Math.log2(initialCapacity)) && initialCapacity >= 2, 'the capacity is a power of two');
    this.#keyAt = keyAt;
    this.#entries = new Int32Array(initialCapacity * 2);
    this.#mask = initialCapacity - 1;
  }

  get size(): number {
    return this.#size;
  }

  get(key: string): number | undefined {
    const hash = hashId(key);
    const entries = this.#entries;
    const mask = this.#mask;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const stored = entries[at * 2] as number;
      if (stored === 0) return undefined;
      if (entries[at * 2 + 1] === hash && this.#keyAt(stored - 1) === key) return stored - 1;
    }
  }

  /**
   * Adds `key` → `slot` unless `key` is present; returns the slot it already had, or undefined
   * when it was added. The owner must answer `keyAt(slot)` with `key` from now on.
   */
  insert(key: string, slot: number): number | undefined {
    if (!(Number.isInteger(slot) && slot >= 0 && slot < slotLimit)) assert.fail(`slot ${slot} is out of range`);
    const hash = hashId(key);
    const entries = this.#entries;
    const mask = this.#mask;
    let at = hash & mask;
    for (; ; at = (at + 1) & mask) {
      const stored = entries[at * 2] as number;
      if (stored === 0) break;
      if (entries[at * 2 + 1] === hash && this.#keyAt(stored - 1) === key) return stored - 1;
    }
    entries[at * 2] = slot + 1;
    entries[at * 2 + 1] = hash;
    this.#size += 1;
    // At most half full: a miss (the common case, a new id) ends after one or two entries.
    if (this.#size * 2 > mask + 1) this.#grow();
    return undefined;
  }

  #grow(): void {
    const old = this.#entries;
    const capacity = (this.#mask + 1) * 2;
    assert(capacity <= capacityMax, `more than ${capacityMax / 2} ids in one index`);
    const entries = new Int32Array(capacity * 2);
    const mask = capacity - 1;
    for (let from = 0; from < old.length; from += 2) {
      const stored = old[from] as number;
      if (stored === 0) continue;
      const hash = old[from + 1] as number;
      let at = hash & mask;
      while (entries[at * 2] !== 0) at = (at + 1) & mask;
      entries[at * 2] = stored;
      entries[at * 2 + 1] = hash;
    }
    this.#entries = entries;
    this.#mask = mask;
  }
}

/** 2^29 entries (4 GiB of table) is far beyond any one writer's memory. */
const capacityMax = 2 ** 29;
const slotLimit = 2 ** 31 - 1;

/** FNV-1a over the UTF-16 code units, then murmur3's finalizer so that the low bits (the mask) mix well. */
export function hashId(key: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) hash = Math.imul(hash ^ key.charCodeAt(index), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}
