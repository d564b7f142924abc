import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareExpiry, ExpiryHeap, type ExpiryEntry } from './expiry-heap.ts';

describe('ExpiryHeap', () => {
  it('matches a sorted-array model under random adds and removes', () => {
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), id: fc.integer({ min: 0, max: 40 }), timeoutAt: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('remove' as const), id: fc.integer({ min: 0, max: 40 }) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 200 }), (operations) => {
        const heap = new ExpiryHeap();
        const model = new Map<string, number>();
        for (const step of operations) {
          const id = `t-${step.id}`;
          if (step.kind === 'add') {
            if (model.has(id)) continue;
            heap.add({ id, timeoutAt: step.timeoutAt });
            model.set(id, step.timeoutAt);
          } else {
            expect(heap.remove(id)).toBe(model.delete(id));
          }
        }
        const expected: ExpiryEntry[] = [...model].map(([id, timeoutAt]) => ({ id, timeoutAt })).sort(compareExpiry);
        expect([...heap.inOrder()]).toEqual(expected);
        expect(heap.peek()).toEqual(expected[0]);
        expect(heap.size).toBe(expected.length);
      }),
      { numRuns: 300 },
    );
  });

  it('asserts on a duplicate id (a broken invariant, not an expected failure)', () => {
    const heap = new ExpiryHeap();
    heap.add({ id: 'a', timeoutAt: 1 });
    expect(() => heap.add({ id: 'a', timeoutAt: 2 })).toThrow(/added twice/);
  });
});
