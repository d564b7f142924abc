import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftStorage } from './raft-storage.ts';
import {
  describeEntries,
  entries,
  entry,
  hardState,
  openStorage,
  ready,
  removeTemporaryDirectories,
  segmentFiles,
  snapshot,
  temporaryDirectory,
  testIdentity,
} from './test-fixtures.ts';

afterEach(removeTemporaryDirectories);

function reopen(directory: string, options = {}) {
  const opened = openStorage(directory, options);
  opened.storage.close();
  return opened;
}

describe('RaftStorage round trips', () => {
  it('reopens with the entries and the last hard state persisted', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    storage.persist(ready({ entries: entries(1, 3, 1), hardState: hardState(1, 0, 'node-2') }));
    storage.persist(ready({ entries: entries(4, 6, 2), hardState: hardState(2, 4, null) }));
    storage.persist(ready({ hardState: hardState(2, 6, 'node-1') }));
    storage.close();

    const { state, fresh } = reopen(directory);
    expect(fresh).toBe(false);
    expect(state.hardState).toEqual({ term: 2, commit: 6, votedFor: 'node-1' });
    expect(state.snapshot).toBeUndefined();
    expect(describeEntries(state.entries)).toEqual(describeEntries([...entries(1, 3, 1), ...entries(4, 6, 2)]));
  });

  it('keeps entry kinds and binary payloads byte for byte', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    const payload = new Uint8Array([0, 255, 1, 254, 0, 0, 7]);
    storage.persist(ready({
      entries: [
        { index: 1, term: 1, kind: 'membership', data: new TextEncoder().encode('{"m":1}') },
        { index: 2, term: 1, kind: 'noop', data: new Uint8Array(0) },
        { index: 3, term: 1, kind: 'normal', data: payload },
      ],
    }));
    storage.close();
    const { state } = reopen(directory);
    expect(state.entries.map((item) => item.kind)).toEqual(['membership', 'noop', 'normal']);
    expect([...state.entries[2]!.data]).toEqual([...payload]);
    expect(state.entries[1]!.data.length).toBe(0);
  });

  it('replaces a conflicting suffix and keeps the hard state written before the truncation', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    storage.persist(ready({ entries: entries(1, 10, 1), hardState: hardState(3, 5, 'node-3') }));
    storage.persist(ready({ entries: [entry(7, 4, 'new 7'), entry(8, 4, 'new 8')] }));
    expect(storage.lastIndex).toBe(8);
    storage.close();

    const { state } = reopen(directory);
    expect(state.entries.map((item) => [item.index, item.term])).toEqual([
      [1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [6, 1], [7, 4], [8, 4],
    ]);
    expect(new TextDecoder().decode(state.entries[6]!.data)).toBe('new 7');
    expect(state.hardState).toEqual({ term: 3, commit: 5, votedFor: 'node-3' });
  });

  it('truncates across segments and deletes the segments left entirely void', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 100 });
    for (let index = 1; index <= 8; index++) storage.persist(ready({ entries: [entry(index, 1)] }));
    const before = segmentFiles(directory).length;
    expect(before).toBeGreaterThan(3);
    storage.persist(ready({ entries: [entry(3, 2, 'replacement')], hardState: hardState(2, 2, null) }));
    const after = segmentFiles(directory);
    // Every segment that started above index 3 is void and gone; the new one starts at 3.
    expect(after.some((name) => name.endsWith('-00000000000000000003.log'))).toBe(true);
    expect(after.length).toBeLessThan(before + 1);
    storage.close();

    const { state } = reopen(directory, { segmentBytesMax: 100 });
    expect(state.entries.map((item) => [item.index, item.term])).toEqual([[1, 1], [2, 1], [3, 2]]);
    expect(state.hardState).toEqual({ term: 2, commit: 2, votedFor: null });
  });

  it('rotates segments at segmentBytesMax and reads them back in order', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 200 });
    for (let batch = 0; batch < 10; batch++) {
      storage.persist(ready({ entries: entries(batch * 5 + 1, batch * 5 + 5, 1), hardState: hardState(1, batch * 5, null) }));
    }
    expect(storage.segmentCount).toBe(10);
    storage.close();
    const { state } = reopen(directory, { segmentBytesMax: 200 });
    expect(state.entries.map((item) => item.index)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(state.hardState.commit).toBe(45);
  });

  it('installs a received snapshot: the old log is void, new entries follow the snapshot', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 150 });
    storage.persist(ready({ entries: entries(1, 6, 1), hardState: hardState(1, 2, null) }));
    storage.persist(ready({ snapshot: snapshot(20, 3), hardState: hardState(3, 20, null) }));
    storage.persist(ready({ entries: entries(21, 22, 3) }));
    expect(segmentFiles(directory).every((name) => !name.endsWith('-00000000000000000001.log'))).toBe(true);
    storage.close();

    const { state } = reopen(directory);
    expect(state.snapshot?.metadata).toEqual({ index: 20, term: 3, membership: snapshot(20, 3).metadata.membership });
    expect(new TextDecoder().decode(state.snapshot!.data)).toBe('state at 20');
    expect(state.entries.map((item) => item.index)).toEqual([21, 22]);
    expect(state.hardState).toEqual({ term: 3, commit: 20, votedFor: null });
  });

  it('compacts whole segments below the snapshot, never the one holding toIndex + 1', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    // segmentBytesMax 1: every persist starts a new segment, so segment k holds entries 2k-1, 2k.
    for (let index = 1; index <= 10; index += 2) storage.persist(ready({ entries: entries(index, index + 1, 1) }));
    storage.persist(ready({ hardState: hardState(1, 10, null) }));
    expect(storage.segmentCount).toBe(6);
    storage.saveSnapshot(snapshot(5, 1));
    expect(storage.compact(5)).toBe(2); // segments [1,2] and [3,4]; [5,6] holds index 6
    storage.close();

    const files = segmentFiles(directory);
    expect(files.map((name) => Number(name.slice(-24, -4)))).toEqual([5, 7, 9, 11]);
    const { state } = reopen(directory);
    expect(state.snapshot?.metadata.index).toBe(5);
    expect(state.entries.map((item) => item.index)).toEqual([6, 7, 8, 9, 10]);
  });

  it('applies compactedTo of a Ready after persisting it', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    for (let index = 1; index <= 6; index++) storage.persist(ready({ entries: [entry(index, 1)] }));
    storage.saveSnapshot(snapshot(4, 1));
    storage.persist(ready({ hardState: hardState(1, 6, null), compactedTo: 4 }));
    expect(segmentFiles(directory).map((name) => Number(name.slice(-24, -4)))).toEqual([5, 6, 7]);
    storage.close();
  });

  it('writes a snapshot off the event loop: compaction to it is refused until it is durable, and a reopen finds it', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    for (let index = 1; index <= 6; index++) storage.persist(ready({ entries: [entry(index, 1)] }));
    const saving = storage.saveSnapshotAsync(snapshot(4, 1));
    expect(() => storage.compact(4)).toThrow(/beyond the durable snapshot 0/);
    await expect(storage.saveSnapshotAsync(snapshot(5, 1))).rejects.toThrow(/one snapshot write at a time/);
    await saving;
    expect(storage.compact(4)).toBeGreaterThan(0);
    storage.close();
    expect(fs.readdirSync(directory).filter((name) => name.includes('.tmp'))).toEqual([]);
    const { state } = reopen(directory);
    expect(state.snapshot?.metadata.index).toBe(4);
    expect(state.entries.map((item) => item.index)).toEqual([5, 6]);
  });

  it('keeps a newer snapshot that became durable while an older one was being written', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    storage.persist(ready({ entries: entries(1, 9, 1), hardState: hardState(1, 9, null) }));
    const older = storage.saveSnapshotAsync(snapshot(4, 1));
    storage.saveSnapshot(snapshot(8, 1)); // e.g. one a leader sent, persisted by a Ready meanwhile
    await older;
    storage.close();
    expect(fs.readdirSync(directory).filter((name) => name.endsWith('.snap'))).toEqual(['snapshot-8-1.snap']);
    expect(reopen(directory).state.snapshot?.metadata.index).toBe(8);
  });

  it('refuses to compact beyond the durable snapshot', () => {
    const { storage } = openStorage(temporaryDirectory());
    storage.persist(ready({ entries: entries(1, 5, 1) }));
    storage.saveSnapshot(snapshot(2, 1));
    expect(() => storage.compact(3)).toThrow(/beyond the durable snapshot 2/);
    storage.close();
  });

  it('keeps the newest two snapshots', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    storage.persist(ready({ entries: entries(1, 9, 1), hardState: hardState(1, 9, null) }));
    for (const index of [3, 5, 7, 9]) storage.saveSnapshot(snapshot(index, 1));
    storage.saveSnapshot(snapshot(4, 1)); // older than the newest: ignored
    storage.close();
    expect(fs.readdirSync(directory).filter((name) => name.endsWith('.snap')).sort()).toEqual([
      'snapshot-7-1.snap',
      'snapshot-9-1.snap',
    ]);
  });

  it('counts one log fsync per persist call, whatever the number of entries', () => {
    const directory = temporaryDirectory();
    const durations: string[] = [];
    const { storage } = openStorage(directory, { onFsync: (_ms, target) => durations.push(target) });
    storage.persist(ready({ entries: entries(1, 1000, 1), hardState: hardState(1, 0, null) }));
    storage.persist(ready({ entries: entries(1001, 2000, 1), hardState: hardState(1, 1000, null) }));
    storage.persist(ready({})); // nothing to write: no fsync
    expect(storage.stats.logFsyncCount).toBe(2);
    expect(storage.stats.entriesWritten).toBe(2000);
    expect(storage.stats.persistCount).toBe(3);
    // The first call also created the segment file: one directory fsync.
    expect(durations).toEqual(['log', 'directory', 'log']);
    expect(storage.stats.fsyncCount).toBe(3);
    storage.close();
  });

  it('refuses entries that would leave a gap', () => {
    const { storage } = openStorage(temporaryDirectory());
    storage.persist(ready({ entries: entries(1, 3, 1) }));
    expect(() => storage.persist(ready({ entries: [entry(5, 1)] }))).toThrow(/gap/);
    storage.close();
  });
});

describe('RaftStorage identity and fresh directories', () => {
  it('reports a missing directory as fresh and creates it', () => {
    const directory = path.join(temporaryDirectory(), 'not-yet');
    const opened = openStorage(directory);
    expect(opened.fresh).toBe(true);
    expect(opened.identity).toBeUndefined();
    expect(opened.state).toEqual({ hardState: { term: 0, votedFor: null, commit: 0 }, snapshot: undefined, entries: [] });
    expect(fs.existsSync(directory)).toBe(true);
    opened.storage.close();
  });

  it('reports an empty directory as fresh, and a bootstrapped one as not fresh', () => {
    const directory = temporaryDirectory();
    expect(reopen(directory).fresh).toBe(true);
    expect(RaftStorage.bootstrap(directory, { ...testIdentity, createdAt: '2025-01-01T00:00:00.000Z' })).toEqual({ ok: true });
    const opened = reopen(directory);
    expect(opened.fresh).toBe(false);
    expect(opened.identity).toEqual({ ...testIdentity, createdAt: '2025-01-01T00:00:00.000Z' });
  });

  it('reports a directory holding a log but no identity as not fresh and unidentified', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    storage.persist(ready({ entries: entries(1, 2, 1) }));
    storage.close();
    const opened = reopen(directory);
    expect(opened.fresh).toBe(false);
    expect(opened.identity).toBeUndefined();
  });

  it('refuses the directory of another node, naming both', () => {
    const directory = temporaryDirectory();
    RaftStorage.bootstrap(directory, { clusterId: 'cluster-a', nodeId: 'node-2', createdAt: '2025-01-01T00:00:00.000Z' });
    const opened = RaftStorage.open(directory, { identity: testIdentity });
    expect(opened.ok).toBe(false);
    if (opened.ok) return;
    expect(opened.error.code).toBe('identity_mismatch');
    expect(opened.error.message).toContain('node node-2 of cluster cluster-a');
    expect(opened.error.message).toContain('node node-1 of cluster cluster-a');
  });

  it('refuses the directory of another cluster, and bootstrap refuses to overwrite it', () => {
    const directory = temporaryDirectory();
    RaftStorage.bootstrap(directory, { clusterId: 'cluster-b', nodeId: 'node-1', createdAt: '2025-01-01T00:00:00.000Z' });
    const opened = RaftStorage.open(directory, { identity: testIdentity });
    expect(opened.ok ? 'ok' : opened.error.code).toBe('identity_mismatch');
    const again = RaftStorage.bootstrap(directory, { ...testIdentity, createdAt: '2025-02-02T00:00:00.000Z' });
    expect(again.ok ? 'ok' : again.error.code).toBe('identity_mismatch');
    expect(JSON.parse(fs.readFileSync(path.join(directory, 'node-identity.json'), 'utf8')).clusterId).toBe('cluster-b');
  });

  it('refuses an unreadable identity file', () => {
    const directory = temporaryDirectory();
    fs.writeFileSync(path.join(directory, 'node-identity.json'), '{"clusterId": 1');
    const opened = RaftStorage.open(directory, { identity: testIdentity });
    expect(opened.ok ? 'ok' : opened.error.code).toBe('identity_corrupt');
  });

  it('refuses invalid options', () => {
    const opened = RaftStorage.open(temporaryDirectory(), { identity: testIdentity, segmentBytesMax: 0 });
    expect(opened.ok ? 'ok' : opened.error.code).toBe('invalid_options');
  });
});

describe('a snapshot ahead of the persisted log', () => {
  it('new entries after a restart continue the snapshot in a segment of their own, so the next restart finds no gap', () => {
    // A leader applied entries 6..8 that its followers made durable, snapshotted at 8, and
    // crashed before its own write of 6..8 happened.
    const directory = temporaryDirectory();
    const first = openStorage(directory);
    first.storage.persist(ready({ entries: entries(1, 5, 1), hardState: hardState(1, 5, 'node-1') }));
    first.storage.saveSnapshot(snapshot(8, 1));
    first.storage.close();

    const second = openStorage(directory);
    expect(second.state.snapshot?.metadata.index).toBe(8);
    expect(second.state.entries).toEqual([]);
    second.storage.persist(ready({ entries: entries(9, 10, 2), hardState: hardState(2, 10, 'node-1') }));
    second.storage.close();

    const third = reopen(directory);
    expect(third.state.snapshot?.metadata.index).toBe(8);
    expect(describeEntries(third.state.entries)).toEqual(describeEntries(entries(9, 10, 2)));
    expect(third.state.hardState).toEqual({ term: 2, commit: 10, votedFor: 'node-1' });
  });
});
