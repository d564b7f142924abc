import { describe, expect, it } from 'vitest';
import type { Entry } from '../entry.ts';
import type { Ready } from '../ready.ts';
import { EventQueue } from './event-queue.ts';
import { Prng } from './prng.ts';
import { SimulatedDisk } from './simulated-disk.ts';
import { TraceHash } from './trace-hash.ts';

function entries(from: number, to: number, term: number): Entry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({ index: from + i, term, kind: 'normal' as const, data: new Uint8Array([from + i]) }));
}

function ready(overrides: Partial<Ready>): Ready {
  return {
    hardState: undefined, entries: [], snapshot: undefined, messages: [], committedEntries: [], barriersResolved: [],
    barriersFailed: [], softState: undefined, compactedTo: undefined, votingUnblocked: false, joinFloor: undefined, ...overrides,
  };
}

describe('seeded PRNG (xoshiro128**)', () => {
  it('replays the same sequence for a seed and differs across seeds', () => {
    const draw = (seed: number) => { const prng = new Prng(seed); return Array.from({ length: 5 }, () => prng.nextUint32()); };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
  });

  it('spreads floats over [0, 1) evenly', () => {
    const prng = new Prng(99);
    const buckets = new Array<number>(10).fill(0);
    const draws = 100_000;
    let outOfRange = 0;
    for (let i = 0; i < draws; i++) {
      const value = prng.float();
      if (value < 0 || value >= 1) outOfRange++;
      else buckets[Math.floor(value * 10)]! += 1;
    }
    expect(outOfRange).toBe(0);
    for (const count of buckets) expect(Math.abs(count - draws / 10)).toBeLessThan(draws / 100);
  });
});

describe('event queue', () => {
  it('pops by time, then in insertion order for equal times', () => {
    const queue = new EventQueue<string>(100);
    queue.push(5, 'c');
    queue.push(1, 'a');
    queue.push(5, 'd');
    queue.push(3, 'b');
    queue.push(1, 'a2');
    const order: string[] = [];
    for (let next = queue.pop(); next !== undefined; next = queue.pop()) order.push(next.event);
    expect(order).toEqual(['a', 'a2', 'b', 'c', 'd']);
  });

  it('refuses to grow past its bound', () => {
    const queue = new EventQueue<number>(2);
    queue.push(1, 1);
    queue.push(2, 2);
    expect(() => queue.push(3, 3)).toThrow(/bound/);
  });
});

describe('simulated disk', () => {
  it('keeps synced writes across a crash and loses the unsynced one', () => {
    const disk = new SimulatedDisk();
    disk.stage(ready({ entries: entries(1, 3, 1), hardState: { term: 1, votedFor: 'a', commit: 0 } }));
    disk.sync();
    disk.stage(ready({ entries: entries(4, 6, 1), hardState: { term: 2, votedFor: 'b', commit: 3 } }));
    disk.crash(0);
    const state = disk.load();
    expect(state.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(state.hardState).toEqual({ term: 1, votedFor: 'a', commit: 0 });
  });

  it('a torn tail keeps a prefix of the unsynced entries but not their hard state', () => {
    const disk = new SimulatedDisk();
    disk.stage(ready({ entries: entries(1, 3, 1), hardState: { term: 1, votedFor: null, commit: 0 } }));
    disk.sync();
    disk.stage(ready({ entries: entries(2, 5, 2), hardState: { term: 2, votedFor: null, commit: 1 } }));
    disk.crash(2);
    const state = disk.load();
    expect(state.entries.map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 2], [3, 2]]);
    expect(state.hardState.term).toBe(1);
  });
});

describe('trace hash (FNV-1a)', () => {
  it('depends on every value and on their order', () => {
    const hash = (values: number[]) => { const trace = new TraceHash(); for (const v of values) trace.addNumber(v); return trace.digest(); };
    expect(hash([1, 2, 3])).toBe(hash([1, 2, 3]));
    expect(hash([1, 2, 3])).not.toBe(hash([1, 3, 2]));
    expect(hash([2 ** 40])).not.toBe(hash([0]));
  });
});
