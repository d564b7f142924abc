import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftStorage } from './raft-storage.ts';
import {
  copyDirectory,
  describeEntries,
  entries,
  entry,
  hardState,
  lastSegmentPath,
  openStorage,
  ready,
  removeTemporaryDirectories,
  segmentFiles,
  snapshot,
  temporaryDirectory,
  testIdentity,
} from './test-fixtures.ts';

afterEach(removeTemporaryDirectories);

/** A directory whose last segment ends with entry 5's record; returns where that record starts. */
function logOfFiveEntries(): { directory: string; lastRecordStart: number; lastRecordEnd: number } {
  const directory = temporaryDirectory();
  const { storage } = openStorage(directory);
  storage.persist(ready({ entries: entries(1, 2, 1), hardState: hardState(1, 1, 'node-1') }));
  storage.persist(ready({ entries: entries(3, 4, 1) }));
  const lastRecordStart = fs.statSync(lastSegmentPath(directory)).size;
  storage.persist(ready({ entries: [entry(5, 1, 'the last entry, with some bytes')] }));
  storage.close();
  return { directory, lastRecordStart, lastRecordEnd: fs.statSync(lastSegmentPath(directory)).size };
}

function flipByte(file: string, offset: number): void {
  const bytes = fs.readFileSync(file);
  bytes[offset] = bytes[offset]! ^ 0x5a;
  fs.writeFileSync(file, bytes);
}

describe('torn tails', () => {
  it('a cut at every byte offset of the last record recovers exactly the preceding records', () => {
    const { directory, lastRecordStart, lastRecordEnd } = logOfFiveEntries();
    const expected = describeEntries(entries(1, 4, 1));
    let tornCount = 0;
    for (let cut = lastRecordStart; cut < lastRecordEnd; cut++) {
      const copy = copyDirectory(directory);
      fs.truncateSync(lastSegmentPath(copy), cut);
      const opened = openStorage(copy);
      expect(describeEntries(opened.state.entries), `cut at ${cut}`).toEqual(expected);
      expect(opened.state.hardState).toEqual({ term: 1, commit: 1, votedFor: 'node-1' });
      expect(opened.recovery.tornTail?.offset, `cut at ${cut}`).toBe(cut === lastRecordStart ? undefined : lastRecordStart);
      if (opened.recovery.tornTail !== undefined) tornCount++;
      expect(fs.statSync(lastSegmentPath(copy)).size).toBe(lastRecordStart);
      // The log goes on from the cut, and a reopen sees the same.
      opened.storage.persist(ready({ entries: [entry(5, 2, 'rewritten')] }));
      opened.storage.close();
      const reopened = openStorage(copy);
      expect(reopened.state.entries.map((item) => [item.index, item.term])).toEqual([[1, 1], [2, 1], [3, 1], [4, 1], [5, 2]]);
      expect(reopened.recovery.tornTail).toBeUndefined();
      reopened.storage.close();
    }
    expect(tornCount).toBe(lastRecordEnd - lastRecordStart - 1);
  });

  it('a flipped byte anywhere in the last record truncates that record', () => {
    const { directory, lastRecordStart, lastRecordEnd } = logOfFiveEntries();
    for (let offset = lastRecordStart; offset < lastRecordEnd; offset++) {
      const copy = copyDirectory(directory);
      flipByte(lastSegmentPath(copy), offset);
      const opened = openStorage(copy);
      expect(opened.state.entries.map((item) => item.index), `flip at ${offset}`).toEqual([1, 2, 3, 4]);
      expect(opened.recovery.tornTail?.offset).toBe(lastRecordStart);
      opened.storage.close();
    }
  });

  it('zeros after the last record (a file extended but never written) are cut', () => {
    const { directory, lastRecordEnd } = logOfFiveEntries();
    fs.appendFileSync(lastSegmentPath(directory), Buffer.alloc(4096));
    const opened = openStorage(directory);
    expect(opened.state.entries.map((item) => item.index)).toEqual([1, 2, 3, 4, 5]);
    expect(opened.recovery.tornTail).toMatchObject({ offset: lastRecordEnd, bytesDropped: 4096 });
    opened.storage.close();
  });

  it('a segment whose header never fully reached the disk is deleted, the older log stands', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    storage.persist(ready({ entries: entries(1, 3, 1), hardState: hardState(1, 3, null) }));
    storage.persist(ready({ entries: entries(4, 5, 1) }));
    storage.close();
    const last = lastSegmentPath(directory);
    expect(segmentFiles(directory)).toHaveLength(2);
    fs.truncateSync(last, 5);
    const opened = openStorage(directory);
    expect(opened.state.entries.map((item) => item.index)).toEqual([1, 2, 3]);
    expect(opened.recovery.tornTail).toMatchObject({ file: last, offset: 0, segmentDeleted: true });
    expect(segmentFiles(directory)).toHaveLength(1);
    opened.storage.persist(ready({ entries: entries(4, 4, 2) }));
    opened.storage.close();
    expect(openStorage(directory).state.entries.map((item) => [item.index, item.term])).toEqual([[1, 1], [2, 1], [3, 1], [4, 2]]);
  });
});

describe('corruption that is not a torn tail', () => {
  it('a flipped byte in an earlier record followed by valid ones refuses to start, naming file and offset', () => {
    const { directory } = logOfFiveEntries();
    const file = lastSegmentPath(directory);
    // Find entry 3's record: re-encode nothing, just search for its payload text.
    const bytes = fs.readFileSync(file);
    const textAt = bytes.indexOf(Buffer.from('entry 3'));
    expect(textAt).toBeGreaterThan(0);
    const recordStart = textAt - 17 - 9;
    flipByte(file, textAt + 2);
    const opened = RaftStorage.open(directory, { identity: testIdentity });
    expect(opened.ok).toBe(false);
    if (opened.ok) return;
    expect(opened.error).toMatchObject({ code: 'log_corrupt', file, offset: recordStart });
    expect(opened.error.message).toContain(file);
    expect(opened.error.message).toContain(`offset ${recordStart}`);
    expect(opened.error.message).toContain('a valid record follows');
    // Nothing was cut: the evidence stays for the operator.
    expect(fs.statSync(file).size).toBe(bytes.length);
  });

  it('a bad record in a segment that is not the last refuses to start', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    storage.persist(ready({ entries: entries(1, 3, 1) }));
    storage.persist(ready({ entries: entries(4, 5, 1) }));
    storage.close();
    const first = path.join(directory, segmentFiles(directory)[0]!);
    const size = fs.statSync(first).size;
    fs.truncateSync(first, size - 3); // the last record of the OLDER segment is torn
    const opened = RaftStorage.open(directory, { identity: testIdentity });
    expect(opened.ok ? 'ok' : opened.error.code).toBe('log_corrupt');
    expect(opened.ok ? '' : opened.error.message).toContain(first);
  });

  it('a missing segment in the middle of the log is a gap, not a torn tail', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    storage.persist(ready({ entries: entries(1, 2, 1) }));
    storage.persist(ready({ entries: entries(3, 4, 1) }));
    storage.persist(ready({ entries: entries(5, 6, 1) }));
    storage.close();
    fs.unlinkSync(path.join(directory, segmentFiles(directory)[1]!));
    const opened = RaftStorage.open(directory, { identity: testIdentity });
    expect(opened.ok ? 'ok' : opened.error.code).toBe('log_gap');
  });

  it('a hard state committing past the recovered log refuses to start', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    storage.persist(ready({ entries: entries(1, 2, 1) }));
    storage.persist(ready({ entries: entries(3, 4, 1), hardState: hardState(1, 4, null) }));
    storage.close();
    // Lose the entries of the last segment but keep its header and hard state: rewrite it by hand.
    const last = lastSegmentPath(directory);
    const bytes = fs.readFileSync(last);
    const entry3 = bytes.indexOf(Buffer.from('entry 3')) - 17 - 9;
    const hardStateRecord = bytes.subarray(bytes.length - (9 + 18));
    fs.writeFileSync(last, Buffer.concat([bytes.subarray(0, entry3), hardStateRecord]));
    const opened = RaftStorage.open(directory, { identity: testIdentity });
    expect(opened.ok ? 'ok' : opened.error.code).toBe('commit_beyond_log');
  });
});

describe('snapshot recovery', () => {
  it('a crash between the temporary write and the rename leaves the old snapshot in use', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    storage.persist(ready({ entries: entries(1, 8, 1), hardState: hardState(1, 8, null) }));
    storage.saveSnapshot(snapshot(4, 1));
    storage.close();
    // The interrupted write of snapshot 8: a partial temporary file, never renamed.
    fs.writeFileSync(path.join(directory, 'snapshot-8-1.snap.tmp'), Buffer.from('RSNP partial'));
    const opened = openStorage(directory);
    expect(opened.state.snapshot?.metadata.index).toBe(4);
    expect(opened.state.entries.map((item) => item.index)).toEqual([5, 6, 7, 8]);
    expect(opened.recovery.temporaryFilesRemoved).toEqual(['snapshot-8-1.snap.tmp']);
    expect(fs.existsSync(path.join(directory, 'snapshot-8-1.snap.tmp'))).toBe(false);
    opened.storage.close();
  });

  it('a corrupt newest snapshot falls back to the previous one when the log covers the gap', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    storage.persist(ready({ entries: entries(1, 4, 1) }));
    storage.persist(ready({ entries: entries(5, 8, 1), hardState: hardState(1, 8, null) }));
    storage.saveSnapshot(snapshot(4, 1));
    storage.saveSnapshot(snapshot(6, 1));
    storage.compact(4); // the log still holds 5..8, covering 4 → 6
    storage.close();
    flipByte(path.join(directory, 'snapshot-6-1.snap'), 20);
    const opened = openStorage(directory);
    expect(opened.state.snapshot?.metadata.index).toBe(4);
    expect(opened.state.entries.map((item) => item.index)).toEqual([5, 6, 7, 8]);
    expect(opened.recovery.corruptSnapshots.map((item) => item.file)).toEqual(['snapshot-6-1.snap']);
    expect(fs.existsSync(path.join(directory, 'snapshot-6-1.snap.corrupt'))).toBe(true);
    opened.storage.close();
  });

  it('a corrupt newest snapshot whose gap the log no longer covers refuses to start', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    storage.persist(ready({ entries: entries(1, 4, 1) }));
    storage.persist(ready({ entries: entries(5, 8, 1) }));
    storage.persist(ready({ entries: entries(9, 10, 1), hardState: hardState(1, 10, null) }));
    storage.saveSnapshot(snapshot(4, 1));
    storage.saveSnapshot(snapshot(8, 1));
    storage.compact(8); // the log now starts at 9
    storage.close();
    flipByte(path.join(directory, 'snapshot-8-1.snap'), 20);
    const opened = RaftStorage.open(directory, { identity: testIdentity });
    expect(opened.ok).toBe(false);
    if (opened.ok) return;
    expect(opened.error.code).toBe('snapshot_corrupt');
    expect(opened.error.message).toContain('snapshot-8-1.snap');
    expect(fs.existsSync(path.join(directory, 'snapshot-8-1.snap'))).toBe(true); // left for the operator
  });

  it('a crash after a received snapshot became durable but before the log reset voids the old log', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    storage.persist(ready({ entries: entries(1, 12, 1), hardState: hardState(2, 3, null) }));
    storage.close();
    // Simulate: the snapshot (index 10, term 2) reached the disk, nothing else did.
    const other = temporaryDirectory();
    const writer = openStorage(other).storage;
    writer.persist(ready({ snapshot: snapshot(10, 2) }));
    writer.close();
    fs.copyFileSync(path.join(other, 'snapshot-10-2.snap'), path.join(directory, 'snapshot-10-2.snap'));

    const opened = openStorage(directory);
    expect(opened.state.snapshot?.metadata.index).toBe(10);
    expect(opened.state.entries).toEqual([]);
    expect(opened.recovery.entriesVoidedAfterSnapshot).toBe(2);
    opened.storage.persist(ready({ entries: entries(11, 11, 2) }));
    opened.storage.close();
    const reopened = openStorage(directory);
    expect(reopened.state.entries.map((item) => [item.index, item.term])).toEqual([[11, 2]]);
    reopened.storage.close();
  });

  it('a snapshot whose last entry matches the log keeps the entries after it', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    storage.persist(ready({ entries: entries(1, 12, 1), hardState: hardState(1, 12, null) }));
    storage.saveSnapshot(snapshot(10, 1));
    storage.close();
    const opened = openStorage(directory);
    expect(opened.state.entries.map((item) => item.index)).toEqual([11, 12]);
    expect(opened.recovery.entriesVoidedAfterSnapshot).toBe(0);
    opened.storage.close();
  });
});
