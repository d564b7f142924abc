import { describe, expect, it } from 'vitest';
import { ReadCache, type CheckpointsHeard } from './read-cache.ts';

/** What the LISTEN connection has heard, set by each test (the real one is CheckpointWaiter). */
function heard(initial: Record<number, number>): CheckpointsHeard & { connected: boolean; liveVersion: string | undefined; checkpoints: Map<number, number> } {
  const checkpoints = new Map(Object.entries(initial).map(([shard, seq]) => [Number(shard), seq]));
  return { connected: true, liveVersion: 'ledger_v1', checkpoints, checkpoint: (shard) => checkpoints.get(shard) ?? 0 };
}

const answer = (shard: number, seq: number, balance = '10') => ({ id: 'a', balance, asOf: { shard, seq } });

describe('read cache for eventual reads', () => {
  it('serves an answer until a newer checkpoint of its shard is heard, then drops it', () => {
    const projection = heard({ 0: 5, 1: 9 });
    const cache = new ReadCache(projection);
    cache.set('account:a', answer(0, 5));
    expect(cache.get('account:a')).toEqual(answer(0, 5));
    projection.checkpoints.set(1, 50); // another shard moving changes nothing
    expect(cache.get('account:a')).toEqual(answer(0, 5));
    projection.checkpoints.set(0, 6);
    expect(cache.get('account:a')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 2, misses: 1 });
  });

  it('does not store an answer read from a snapshot older than the checkpoint already heard', () => {
    const projection = heard({ 0: 7 });
    const cache = new ReadCache(projection);
    cache.set('account:a', answer(0, 6));
    expect(cache.get('account:a')).toBeUndefined();
    // An answer ahead of what was heard (the notification is still on its way) is current.
    cache.set('account:a', answer(0, 8));
    expect(cache.get('account:a')).toEqual(answer(0, 8));
  });

  it('serves and stores nothing while the LISTEN connection is down (an invalidation could be missed)', () => {
    const projection = heard({ 0: 5 });
    const cache = new ReadCache(projection);
    cache.set('account:a', answer(0, 5));
    projection.connected = false;
    expect(cache.get('account:a')).toBeUndefined();
    cache.set('account:b', answer(0, 5));
    projection.connected = true;
    expect(cache.get('account:b')).toBeUndefined();
  });

  it('drops answers of a read-model version that is no longer live (after a rebuild switched)', () => {
    const projection = heard({ 0: 5 });
    const cache = new ReadCache(projection);
    cache.set('account:a', answer(0, 5));
    projection.liveVersion = 'ledger_v2';
    expect(cache.get('account:a')).toBeUndefined();
  });

  it('holds at most entriesMax answers, evicting the oldest stored; 0 turns it off', () => {
    const projection = heard({ 0: 1 });
    const cache = new ReadCache(projection, 2);
    cache.set('k1', answer(0, 1));
    cache.set('k2', answer(0, 1));
    cache.set('k3', answer(0, 1));
    expect(cache.size).toBe(2);
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k3')).toEqual(answer(0, 1));
    const off = new ReadCache(projection, 0);
    off.set('k1', answer(0, 1));
    expect(off.get('k1')).toBeUndefined();
  });
});
