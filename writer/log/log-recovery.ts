// Reading the log segments back on open. Segments are scanned in sequence order; each must begin
// with its header (whose first index voids any earlier entry at or above it, and whose hard state
// is the one in force when it was opened), followed by entries with consecutive indexes and
// hard-state records (the last one wins).
//
// A header that "replaces the log" (written when a snapshot replaced it) voids every earlier entry.
//
// A bad record at offset X in the LAST segment is a torn tail — part of the last write, never
// acknowledged because its fsync did not return — unless the bytes after X prove that the write
// holding X was fsynced. persist() is synchronous: a batch is written only after the previous
// batch's fsync returned. So X's batch was acknowledged if, after X, there is a valid batch-end
// record followed by any valid record (the next batch), or a valid batch-end record whose batch
// started after X. Otherwise the valid records after X are stray blocks of the same unfinished
// write (disks persist the blocks of one write in any order): the file is truncated at X (or
// deleted, when even its header is torn) and the cut is reported. A bad record proved
// acknowledged, a bad record in an older segment, an index out of sequence: refuse to start,
// naming the file and offset.

import fs from 'node:fs';
import path from 'node:path';
import type { Entry } from '../raft/entry.ts';
import { initialHardState, type HardState } from '../raft/persistent-state.ts';
import type { TimedFsync } from './durable-file.ts';
import { readLogRecord, recordHeaderBytes } from './log-record.ts';
import type { SegmentName } from './segment-name.ts';
import type { StorageError } from './storage-error.ts';

/** A segment as the storage tracks it while open. */
export interface SegmentState {
  readonly name: string;
  readonly sequence: number;
  readonly firstIndex: number;
  /** Index of the last entry written to this segment (firstIndex - 1 when none). */
  lastIndex: number;
  /** Last entry of this segment not voided by a later segment (below firstIndex: all void). */
  liveLastIndex: number;
  /** Valid bytes (the append position). */
  bytes: number;
}

export interface TornTail {
  readonly file: string;
  readonly offset: number;
  readonly bytesDropped: number;
  readonly reason: string;
  readonly segmentDeleted: boolean;
}

export interface RecoveredLog {
  /** Live entries, contiguous (may start below the snapshot; the caller trims). */
  readonly entries: Entry[];
  readonly hardState: HardState;
  readonly segments: SegmentState[];
  readonly tornTail: TornTail | undefined;
}

export type RecoverLogResult = { readonly ok: true; readonly log: RecoveredLog } | { readonly ok: false; readonly error: StorageError };

/** `names` sorted by sequence. Truncates a torn tail of the last segment on disk. */
export function recoverLog(directory: string, names: readonly SegmentName[], fsync: TimedFsync): RecoverLogResult {
  const entries: Entry[] = [];
  let hardState: HardState = initialHardState;
  const segments: SegmentState[] = [];
  let tornTail: TornTail | undefined;

  for (let position = 0; position < names.length; position++) {
    const segmentName = names[position]!;
    const isLast = position === names.length - 1;
    const file = path.join(directory, segmentName.name);
    const bytes = fs.readFileSync(file);

    // Header.
    const first = readLogRecord(bytes, 0);
    if (!first.ok) {
      if (!isLast || findProofOfAcknowledgement(bytes, 0) !== undefined) {
        return corrupt(file, 0, `unreadable segment header (${first.reason})`);
      }
      fs.unlinkSync(file);
      tornTail = { file, offset: 0, bytesDropped: bytes.length, reason: first.reason, segmentDeleted: true };
      break;
    }
    if (first.record.type !== 'segment_header') return corrupt(file, 0, `segment begins with a ${first.record.type} record`);
    const header = first.record.header;
    if (header.sequence !== segmentName.sequence || header.firstIndex !== segmentName.firstIndex) {
      return corrupt(file, 0, `header says sequence ${header.sequence} first index ${header.firstIndex}, the file name disagrees`);
    }
    voidFrom(entries, segments, header.replacesLog ? 0 : header.firstIndex);
    hardState = header.hardState;

    // Records.
    let offset = first.nextOffset;
    let expectedIndex = header.firstIndex;
    while (offset < bytes.length) {
      const result = readLogRecord(bytes, offset);
      if (!result.ok) {
        const proof = isLast ? findProofOfAcknowledgement(bytes, offset) : undefined;
        if (!isLast || proof !== undefined) {
          const after = proof === undefined ? 'in a segment that is not the last' : `${proof}, so it was acknowledged`;
          return corrupt(file, offset, `${result.problem}: ${result.reason}; ${after}, so this is not a torn tail`);
        }
        truncateFile(file, offset, fsync);
        tornTail = { file, offset, bytesDropped: bytes.length - offset, reason: `${result.problem}: ${result.reason}`, segmentDeleted: false };
        break;
      }
      const record = result.record;
      switch (record.type) {
        case 'entry': {
          const entry = record.entry;
          if (entry.index !== expectedIndex) {
            return { ok: false, error: { code: 'log_gap', file, offset, message: `${file} offset ${offset}: entry ${entry.index} where ${expectedIndex} was expected: refusing to start` } };
          }
          const previous = entries[entries.length - 1];
          if (previous !== undefined && entry.term < previous.term) {
            return corrupt(file, offset, `entry ${entry.index} has term ${entry.term} below the previous entry's ${previous.term}`);
          }
          entries.push(entry);
          expectedIndex++;
          break;
        }
        case 'hard_state':
          hardState = record.hardState;
          break;
        case 'batch_end':
          break;
        case 'segment_header':
          return corrupt(file, offset, 'a second segment header');
        default: {
          const _exhaustive: never = record;
          return _exhaustive;
        }
      }
      offset = result.nextOffset;
    }
    segments.push({
      name: segmentName.name,
      sequence: segmentName.sequence,
      firstIndex: header.firstIndex,
      lastIndex: expectedIndex - 1,
      liveLastIndex: expectedIndex - 1,
      bytes: offset,
    });
  }
  return { ok: true, log: { entries, hardState, segments, tornTail } };
}

/**
 * A segment starting at `firstIndex` voids every earlier entry at or above it (0: every entry).
 * Entries ending below `firstIndex - 1` leave a gap: they are dropped too (they can only be
 * useful if a snapshot covers the gap, which the caller checks against the first entry it is
 * left with).
 */
function voidFrom(entries: Entry[], segments: SegmentState[], firstIndex: number): void {
  for (const segment of segments) segment.liveLastIndex = Math.min(segment.liveLastIndex, firstIndex - 1);
  const base = entries[0]?.index;
  if (base === undefined) return;
  const last = base + entries.length - 1;
  if (last < firstIndex - 1) entries.length = 0;
  else entries.length = Math.max(0, firstIndex - base);
}

/**
 * Why the batch holding the bad record at `badOffset` must have been fsynced (see the top of this
 * file), or undefined when nothing after it proves so.
 */
function findProofOfAcknowledgement(bytes: Buffer, badOffset: number): string | undefined {
  let batchEndAt: number | undefined;
  let offset = badOffset + 1;
  while (offset + recordHeaderBytes <= bytes.length) {
    const result = readLogRecord(bytes, offset);
    if (!result.ok) {
      offset++;
      continue;
    }
    if (batchEndAt !== undefined) {
      return `a valid record at offset ${offset} follows the batch that ended at offset ${batchEndAt}`;
    }
    if (result.record.type === 'batch_end') {
      const batchStart = offset - result.record.batchBytes;
      if (batchStart > badOffset) return `a whole batch follows it (offsets ${batchStart} to ${result.nextOffset})`;
      batchEndAt = offset;
    }
    offset = result.nextOffset;
  }
  return undefined;
}

function truncateFile(file: string, length: number, fsync: TimedFsync): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.ftruncateSync(fd, length);
    fsync(fd, 'log', false);
  } finally {
    fs.closeSync(fd);
  }
}

function corrupt(file: string, offset: number, reason: string): RecoverLogResult {
  return { ok: false, error: { code: 'log_corrupt', file, offset, message: `${file} offset ${offset}: ${reason}: refusing to start` } };
}
