import assert from 'node:assert/strict';

/**
 * Transfer id → slot, for the millions of ids a writer holds: open-addressing hash tables
 * (linear probing) in typed arrays, outside the JavaScript heap, in 256 parts that grow apart.
 *
 * A `Map` of that size was the writer's largest single cost: a profile of the batched benchmark
 * put 13–15% of every node's time in its lookups, mostly cache misses walking its chains, and an
 * append needed two (is the id taken? then set). Here a probe reads the table's own arrays, and a
 * string is compared only when its stored 32-bit hash matches; `insert` looks up and adds in one
 * probe. Each entry keeps its hash, so growing the table never rehashes a string. The keys
 * themselves stay with the owner, which answers `keyEquals(slot, key)`. There is no deletion (the ledger
 * never deletes a transfer), and no 2^24 limit as a `Map` has.
 */
export class IdIndex {
  readonly #keyEquals: (slot: number, key: string) => boolean;
  /**
   * Per part, two numbers per entry, side by side so that one cache line holds both: slot + 1
   * (0 = empty) and the key's hash. The top bits of a hash choose the part.
   */
  readonly #parts: Int32Array[] = [];
  readonly #masks: number[] = [];
  readonly #partSizes: number[] = [];
  /** hash >>> 1 >>> this: the part (two shifts, so that 0 part bits give part 0). */
  readonly #partShift: number;
  #size = 0;
  readonly #partCapacityMax: number;

  /**
   * `initialCapacity`: entries per part at first (a power of two; 16 × 256 parts = 32 KiB, as
   * every ledger state has an index, tests' thousands of small ones included); `partBits`: log2 of
   * the number of parts (tests use 0, one table, to exercise probing and growth with a few keys).
   */
  constructor(keyEquals: (slot: number, key: string) => boolean, { initialCapacity = 16, partBits = 8 }: { initialCapacity?: number; partBits?: number } = {}) {
    if (!(Number.isInteger(Math.log2(initialCapacity)) && initialCapacity >= 2)) assert.fail('the capacity is a power of two');
    if (!(Number.isInteger(partBits) && partBits >= 0 && partBits <= 12)) assert.fail('partBits is 0..12');
    this.#keyEquals = keyEquals;
    this.#partShift = 31 - partBits;
    this.#partCapacityMax = capacityMax >>> partBits;
    for (let part = 0; part < 1 << partBits; part += 1) {
      this.#parts.push(new Int32Array(initialCapacity * 2));
      this.#masks.push(initialCapacity - 1);
      this.#partSizes.push(0);
    }
  }

  get size(): number {
    return this.#size;
  }

  get(key: string): number | undefined {
    const hash = hashId(key);
    const part = (hash >>> 1) >>> this.#partShift;
    const entries = this.#parts[part] as Int32Array;
    const mask = this.#masks[part] as number;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const stored = entries[at * 2] as number;
      if (stored === 0) return undefined;
      if (entries[at * 2 + 1] === hash && this.#keyEquals(stored - 1, key)) return stored - 1;
    }
  }

  /**
   * Adds `key` → `slot` unless `key` is present; returns the slot it already had, or undefined
   * when it was added. The owner must answer `keyEquals(slot, key)` with true from now on.
   */
  insert(key: string, slot: number): number | undefined {
    if (!(Number.isInteger(slot) && slot >= 0 && slot < slotLimit)) assert.fail(`slot ${slot} is out of range`);
    const hash = hashId(key);
    const part = (hash >>> 1) >>> this.#partShift;
    const entries = this.#parts[part] as Int32Array;
    const mask = this.#masks[part] as number;
    let at = hash & mask;
    for (; ; at = (at + 1) & mask) {
      const stored = entries[at * 2] as number;
      if (stored === 0) break;
      if (entries[at * 2 + 1] === hash && this.#keyEquals(stored - 1, key)) return stored - 1;
    }
    entries[at * 2] = slot + 1;
    entries[at * 2 + 1] = hash;
    this.#size += 1;
    const partSize = (this.#partSizes[part] as number) + 1;
    this.#partSizes[part] = partSize;
    // At most half full: a miss (the common case, a new id) ends after one or two entries.
    if (partSize * 2 > mask + 1) this.#grow(part);
    return undefined;
  }

  /**
   * Doubles one part. Parts grow one at a time, so growing copies 1/256 of the index: about 6 ms at
   * 4 M ids here, where one table of 4 M stalled the event loop for 455 ms (mostly the first
   * touch of its new pages).
   */
  #grow(part: number): void {
    const old = this.#parts[part] as Int32Array;
    const capacity = ((this.#masks[part] as number) + 1) * 2;
    if (capacity > this.#partCapacityMax) assert.fail(`more than ${capacityMax / 2} ids in one index`);
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
    this.#parts[part] = entries;
    this.#masks[part] = mask;
  }
}

/** 2^29 entries in all (4 GiB of tables) is far beyond any one writer's memory. */
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
