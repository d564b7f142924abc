import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordHeaderBytes } from './log-record.ts';
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

/**
 * A directory whose last segment ends with the batch [entry 5, batch end]; returns where entry 5's
 * record starts, where the batch-end record starts, and where the file ends.
 */
function logOfFiveEntries(): { directory: string; entryStart: number; batchEndStart: number; end: number } {
  const directory = temporaryDirectory();
  const { storage } = openStorage(directory);
  storage.persist(ready({ entries: entries(1, 2, 1), hardState: hardState(1, 1, 'node-1') }));
  storage.persist(ready({ entries: entries(3, 4, 1) }));
  const entryStart = fs.statSync(lastSegmentPath(directory)).size;
  const last = entry(5, 1, 'the last entry, with some bytes');
  storage.persist(ready({ entries: [last] }));
  storage.close();
  const batchEndStart = entryStart + recordHeaderBytes + 17 + last.data.length;
  return { directory, entryStart, batchEndStart, end: fs.statSync(lastSegmentPath(directory)).size };
}

function flipByte(file: string, offset: number): void {
  const bytes = fs.readFileSync(file);
  bytes[offset] = bytes[offset]! ^ 0x5a;
  fs.writeFileSync(file, bytes);
}

describe('torn tails', () => {
  it('a cut at every byte offset of the last batch recovers exactly the whole records before the cut', () => {
    const { directory, entryStart, batchEndStart, end } = logOfFiveEntries();
    expect(end - batchEndStart).toBe(recordHeaderBytes + 4);
    let tornCount = 0;
    for (let cut = entryStart; cut < end; cut++) {
      const copy = copyDirectory(directory);
      fs.truncateSync(lastSegmentPath(copy), cut);
      const opened = openStorage(copy);
      const wholeEntries = cut >= batchEndStart ? 5 : 4;
      const recordStart = cut >= batchEndStart ? batchEndStart : entryStart;
      expect(describeEntries(opened.state.entries), `cut at ${cut}`).toEqual(describeEntries([
        ...entries(1, 4, 1), ...(wholeEntries === 5 ? [entry(5, 1, 'the last entry, with some bytes')] : []),
      ]));
      expect(opened.state.hardState).toEqual({ term: 1, commit: 1, votedFor: 'node-1' });
      expect(opened.recovery.tornTail?.offset, `cut at ${cut}`).toBe(cut === recordStart ? undefined : recordStart);
      if (opened.recovery.tornTail !== undefined) tornCount++;
      expect(fs.statSync(lastSegmentPath(copy)).size).toBe(recordStart);
      // The log goes on from the cut, and a reopen sees the same.
      opened.storage.persist(ready({ entries: [entry(5, 2, 'rewritten')] }));
      opened.storage.close();
      const reopened = openStorage(copy);
      expect(reopened.state.entries.map((item) => [item.index, item.term])).toEqual([[1, 1], [2, 1], [3, 1], [4, 1], [5, 2]]);
      expect(reopened.recovery.tornTail).toBeUndefined();
      reopened.storage.close();
    }
    expect(tornCount).toBe(end - entryStart - 2);
  });

  it('a flipped byte anywhere in the last batch truncates from the record it hit', () => {
    const { directory, entryStart, batchEndStart, end } = logOfFiveEntries();
    for (let offset = entryStart; offset < end; offset++) {
      const copy = copyDirectory(directory);
      flipByte(lastSegmentPath(copy), offset);
      const opened = openStorage(copy);
      const inEntry = offset < batchEndStart;
      expect(opened.state.entries.map((item) => item.index), `flip at ${offset}`).toEqual(inEntry ? [1, 2, 3, 4] : [1, 2, 3, 4, 5]);
      expect(opened.recovery.tornTail?.offset).toBe(inEntry ? entryStart : batchEndStart);
      opened.storage.close();
    }
  });

  it('blocks of the unfinished last write that reached the disk out of order are cut with the hole', () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    storage.persist(ready({ entries: entries(1, 2, 1), hardState: hardState(1, 2, null) }));
    const batchStart = fs.statSync(lastSegmentPath(directory)).size;
    storage.persist(ready({ entries: entries(3, 40, 1), hardState: hardState(1, 40, null) }));
    storage.close();
    // A hole of zeros in the middle of the last batch; its later records (hard state included) are intact.
    const file = lastSegmentPath(directory);
    const bytes = fs.readFileSync(file);
    const holeStart = bytes.indexOf(Buffer.from('entry 10')) - 17 - recordHeaderBytes;
    bytes.fill(0, holeStart, holeStart + 100);
    fs.writeFileSync(file, bytes);
    const opened = openStorage(directory);
    expect(opened.state.entries.map((item) => item.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(opened.state.hardState.commit).toBe(2); // the batch's hard state went with it
    expect(opened.recovery.tornTail?.offset).toBe(holeStart);
    expect(holeStart).toBeGreaterThan(batchStart);
    opened.storage.close();
  });

  it('zeros after the last record (a file extended but never written) are cut', () => {
    const { directory, end } = logOfFiveEntries();
    fs.appendFileSync(lastSegmentPath(directory), Buffer.alloc(4096));
    const opened = openStorage(directory);
    expect(opened.state.entries.map((item) => item.index)).toEqual([1, 2, 3, 4, 5]);
    expect(opened.recovery.tornTail).toMatchObject({ offset: end, bytesDropped: 4096 });
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
    const recordStart = textAt - 17 - recordHeaderBytes;
    flipByte(file, textAt + 2);
    const opened = RaftStorage.open(directory, { identity: testIdentity });
    expect(opened.ok).toBe(false);
    if (opened.ok) return;
    expect(opened.error).toMatchObject({ code: 'log_corrupt', file, offset: recordStart });
    expect(opened.error.message).toContain(file);
    expect(opened.error.message).toContain(`offset ${recordStart}`);
    expect(opened.error.message).toContain('so it was acknowledged');
    // Nothing was cut: the evidence stays for the operator.
    expect(fs.statSync(file).size).toBe(bytes.length);
  });

  it('a bad record in an acknowledged batch is refused even when the batch after it is torn or its own end is lost', () => {
    const build = () => {
      const directory = temporaryDirectory();
      const { storage } = openStorage(directory);
      storage.persist(ready({ entries: entries(1, 2, 1) }));
      storage.persist(ready({ entries: entries(3, 4, 1) }));
      storage.persist(ready({ entries: entries(5, 6, 1) }));
      storage.close();
      const file = lastSegmentPath(directory);
      const bytes = fs.readFileSync(file);
      const entry3 = bytes.indexOf(Buffer.from('entry 3')) - 17 - recordHeaderBytes;
      const batchEnd = bytes.indexOf(Buffer.from('entry 5')) - 17 - recordHeaderBytes - (recordHeaderBytes + 4);
      bytes[entry3 + 30] = bytes[entry3 + 30]! ^ 1;
      return { directory, file, bytes, entry3, batchEnd };
    };
    // The last batch is torn (its end is missing), but batch [3, 4]'s end is intact and followed by entry 5.
    const torn = build();
    fs.writeFileSync(torn.file, torn.bytes.subarray(0, torn.bytes.length - 3));
    const first = RaftStorage.open(torn.directory, { identity: testIdentity });
    expect(first.ok ? 'ok' : first.error).toMatchObject({ code: 'log_corrupt', offset: torn.entry3 });
    // Batch [3, 4]'s own end is damaged too, but the whole batch [5, 6] after it proves it was fsynced.
    const lostEnd = build();
    lostEnd.bytes[lostEnd.batchEnd + 10] = lostEnd.bytes[lostEnd.batchEnd + 10]! ^ 1;
    fs.writeFileSync(lostEnd.file, lostEnd.bytes);
    const second = RaftStorage.open(lostEnd.directory, { identity: testIdentity });
    expect(second.ok ? 'ok' : second.error).toMatchObject({ code: 'log_corrupt', offset: lostEnd.entry3 });
    expect(second.ok ? '' : second.error.message).toContain('a whole batch follows it');
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
    const batchEndBytes = recordHeaderBytes + 4;
    const hardStateAndBatchEnd = bytes.subarray(bytes.length - (recordHeaderBytes + 18) - batchEndBytes);
    fs.writeFileSync(last, Buffer.concat([bytes.subarray(0, entry3), hardStateAndBatchEnd]));
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
