/** persistAsync: the same durable result as persist(), with the fdatasync off the event loop. */
import { afterEach, describe, expect, it } from 'vitest';
import { describeEntries, entries, hardState, openStorage, ready, removeTemporaryDirectories, temporaryDirectory } from './test-fixtures.ts';

afterEach(removeTemporaryDirectories);

describe('RaftStorage.persistAsync', () => {
  it('persists entries, a truncation and the hard state exactly as persist() does, counting one log fsync per call', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    await storage.persistAsync(ready({ entries: entries(1, 5, 1), hardState: hardState(1, 3, 'node-1') }));
    await storage.persistAsync(ready({ entries: entries(4, 6, 2), hardState: hardState(2, 4, 'node-2') }));
    expect(storage.stats.logFsyncCount).toBe(2);
    storage.close();
    const reopened = openStorage(directory);
    expect(reopened.state.hardState).toEqual(hardState(2, 4, 'node-2'));
    expect(describeEntries(reopened.state.entries)).toEqual(describeEntries([...entries(1, 3, 1), ...entries(4, 6, 2)]));
    reopened.storage.close();
  });

  it('refuses a second persist while one is in flight (the Ready loop must not overlap them)', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    const first = storage.persistAsync(ready({ entries: entries(1, 2, 1) }));
    await expect(storage.persistAsync(ready({ entries: entries(3, 3, 1) }))).rejects.toThrow(/another persist is in flight/);
    await first;
    storage.close();
  });
});

describe('commit-only hard states (etcd MustSync)', () => {
  it('are written without an fsync of their own, while a new term or vote is synced', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    await storage.persistAsync(ready({ entries: entries(1, 3, 1), hardState: hardState(1, 0, 'node-1') }));
    expect(storage.stats.logFsyncCount).toBe(1);
    await storage.persistAsync(ready({ hardState: hardState(1, 3, 'node-1') }));
    storage.persist(ready({ hardState: hardState(1, 3, 'node-1') }));
    expect(storage.stats.logFsyncCount).toBe(1);
    await storage.persistAsync(ready({ hardState: hardState(2, 3, null) }));
    expect(storage.stats.logFsyncCount).toBe(2);
    storage.close();
    const reopened = openStorage(directory);
    expect(reopened.state.hardState).toEqual(hardState(2, 3, null));
    reopened.storage.close();
  });
});
