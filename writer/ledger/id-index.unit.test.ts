import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashId, IdIndex } from './id-index.ts';

/** An index over an array of keys, as TransferTable uses it (slot = position in the array). */
function indexOver(initialCapacity: number, partBits = 0): { index: IdIndex; keys: string[]; add: (key: string) => number | undefined } {
  const keys: string[] = [];
  const index = new IdIndex((slot, key) => keys[slot] === key, { initialCapacity, partBits });
  return {
    index,
    keys,
    add(key) {
      const existing = index.insert(key, keys.length);
      if (existing === undefined) keys.push(key);
      return existing;
    },
  };
}

describe('IdIndex', () => {
  it('behaves like a Map from key to first slot, through collisions and growth from a tiny table', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.integer({ min: 0, max: 60 }).map((n) => `t-${n}`)), { maxLength: 300 }), (operations) => {
        const { index, keys, add } = indexOver(2);
        const model = new Map<string, number>();
        for (const key of operations) {
          const existing = add(key);
          expect(existing).toBe(model.get(key));
          if (existing === undefined) model.set(key, model.size);
          expect(index.size).toBe(model.size);
        }
        for (const [key, slot] of model) expect(index.get(key)).toBe(slot);
        for (const key of ['absent', 't-61', '\u0000', 'T-1']) expect(index.get(key)).toBe(model.get(key));
        expect(keys.length).toBe(model.size);
      }),
      { numRuns: 300 },
    );
  });

  it.each([0, 8])('keeps 200,000 ids findable across many doublings, and refuses each id a second time (%i part bits)', (partBits) => {
    const { index, add } = indexOver(4, partBits);
    const count = 200_000;
    for (let n = 0; n < count; n += 1) expect(add(`b-${n}`)).toBeUndefined();
    expect(index.size).toBe(count);
    for (let n = 0; n < count; n += 7) expect(index.get(`b-${n}`)).toBe(n);
    for (let n = 0; n < count; n += 1_001) expect(add(`b-${n}`)).toBe(n);
    expect(index.size).toBe(count);
    expect(index.get(`b-${count}`)).toBeUndefined();
  });

  it('compares the keys themselves when hashes collide', () => {
    // Find two distinct keys with the same 32-bit hash among up to two million (birthday bound: hundreds expected).
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let n = 0; pair === undefined && n < 2_000_000; n += 1) {
      const key = `b-${n}`;
      const other = seen.get(hashId(key));
      if (other !== undefined) pair = [other, key];
      else seen.set(hashId(key), key);
    }
    expect(pair).toBeDefined();
    const [first, second] = pair!;
    expect(hashId(first)).toBe(hashId(second));
    const { index, add } = indexOver(8);
    expect(add(first)).toBeUndefined();
    expect(index.get(second)).toBeUndefined();
    expect(add(second)).toBeUndefined();
    expect(index.get(first)).toBe(0);
    expect(index.get(second)).toBe(1);
  });

  it('refuses a capacity that is not a power of two, too many parts, and a slot outside 0..2^31-2', () => {
    expect(() => new IdIndex(() => false, { initialCapacity: 12 })).toThrow(/power of two/);
    expect(() => new IdIndex(() => false, { partBits: 13 })).toThrow(/partBits/);
    const { index } = indexOver(4);
    expect(() => index.insert('x', -1)).toThrow(/out of range/);
    expect(() => index.insert('x', 2 ** 31)).toThrow(/out of range/);
    expect(index.size).toBe(0);
  });
});
