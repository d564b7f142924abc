import assert from 'node:assert/strict';

/**
 * The set of operations already linearized on the current search path, as a bitset over the
 * operation indices of one partition, with an incrementally maintained 64-bit Zobrist hash (two
 * 32-bit halves) so that a memo key costs O(1) to form. Equality is always confirmed on the words.
 */
export class LinearizedSet {
  readonly #words: Uint32Array;
  readonly #keysLow: Uint32Array;
  readonly #keysHigh: Uint32Array;
  #hashLow = 0;
  #hashHigh = 0;

  constructor(operationCount: number) {
    assert(Number.isInteger(operationCount) && operationCount >= 0);
    this.#words = new Uint32Array(Math.ceil(operationCount / 32));
    this.#keysLow = new Uint32Array(operationCount);
    this.#keysHigh = new Uint32Array(operationCount);
    for (let index = 0; index < operationCount; index++) {
      this.#keysLow[index] = mix32(index * 2 + 1);
      this.#keysHigh[index] = mix32(index * 2 + 2 + 0x9e3779b9);
    }
  }

  get wordCount(): number {
    return this.#words.length;
  }

  /** Low half of the set's hash (a bucket key; collisions are settled with `equals`). */
  get hashLow(): number {
    return this.#hashLow;
  }

  /** High half of the set's hash (a cheap first test before `equals`). */
  get hashHigh(): number {
    return this.#hashHigh;
  }

  has(index: number): boolean {
    const word = this.#words[index >>> 5];
    assert(word !== undefined, 'operation index out of range');
    return (word & (1 << (index & 31))) !== 0;
  }

  add(index: number): void {
    assert(!this.has(index), 'operation linearized twice');
    this.#toggle(index);
  }

  remove(index: number): void {
    assert(this.has(index), 'operation removed but not linearized');
    this.#toggle(index);
  }

  snapshot(): Uint32Array {
    return this.#words.slice();
  }

  equals(words: Uint32Array): boolean {
    assert(words.length === this.#words.length);
    for (let index = 0; index < words.length; index++) {
      if (words[index] !== this.#words[index]) return false;
    }
    return true;
  }

  #toggle(index: number): void {
    const wordIndex = index >>> 5;
    this.#words[wordIndex] = (this.#words[wordIndex] ?? 0) ^ (1 << (index & 31));
    this.#hashLow = (this.#hashLow ^ (this.#keysLow[index] ?? 0)) >>> 0;
    this.#hashHigh = (this.#hashHigh ^ (this.#keysHigh[index] ?? 0)) >>> 0;
  }
}

/** MurmurHash3's 32-bit finalizer: a deterministic, well-spread key per operation index. */
function mix32(value: number): number {
  let mixed = value >>> 0;
  mixed ^= mixed >>> 16;
  mixed = Math.imul(mixed, 0x85ebca6b);
  mixed ^= mixed >>> 13;
  mixed = Math.imul(mixed, 0xc2b2ae35);
  mixed ^= mixed >>> 16;
  return mixed >>> 0;
}
