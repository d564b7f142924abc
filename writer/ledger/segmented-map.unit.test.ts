import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SegmentedMap } from './segmented-map.ts';

describe('SegmentedMap', () => {
  it('behaves like a Map across segment boundaries (tiny segments)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer())), (operations) => {
        const segmented = new SegmentedMap<number>(4);
        const model = new Map<string, number>();
        for (const [key, value] of operations) {
          const id = `k-${key}`;
          expect(segmented.has(id)).toBe(model.has(id));
          segmented.set(id, value);
          model.set(id, value);
        }
        expect(segmented.size).toBe(model.size);
        for (const [id, value] of model) expect(segmented.get(id)).toBe(value);
        expect(segmented.get('absent')).toBeUndefined();
        expect([...segmented.values()].sort()).toEqual([...model.values()].sort());
      }),
      { numRuns: 200 },
    );
  });
});
