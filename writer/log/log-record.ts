// The on-disk record of a log segment. Every record is self-checking:
//
//   offset 0  u32 LE  crc32 of bytes [4, end)  (length, type and payload)
//   offset 4  u32 LE  payload length in bytes
//   offset 8  u8      record type
//   offset 9  payload
//
// Record types and their payloads (integers little-endian; u64 values are JS safe integers
// written as two u32 halves):
//   segment_header  magic u32 'RLOG', version u8, flags u8 (bit 0: replaces the log), sequence u64,
//                   firstIndex u64, hard state (the one in force when the segment was opened;
//                   see raft-storage.ts)
//   entry           index u64, term u64, kind u8, data bytes as-is (the rest of the payload)
//   hard_state      term u64, commit u64, votedFor length u16 (0xffff = null), votedFor utf-8
//   batch_end       batchBytes u32: bytes the persist() call wrote before this record (its entries
//                   and hard state). Ends every fsynced batch, so recovery can tell acknowledged
//                   batches from the unfinished last write (whose blocks may reach the disk in
//                   any order; see log-recovery.ts)
//
// `LogRecordWriter` encodes records into one reusable buffer (one write per persist call);
// `readLogRecord` decodes one record at an offset of a segment's bytes.

import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import type { Entry, EntryKind } from '../raft/entry.ts';
import type { HardState } from '../raft/persistent-state.ts';

export type LogRecordType = 'segment_header' | 'entry' | 'hard_state' | 'batch_end';

export const recordHeaderBytes = 9;
/** Upper bound on one record's payload: an entry larger than this is refused when written. */
export const recordPayloadBytesMax = 64 * 1024 * 1024;
export const segmentMagic = 0x474f4c52; // 'RLOG' read as u32 LE
export const segmentFormatVersion = 1;

const typeCodes: Readonly<Record<LogRecordType, number>> = { segment_header: 1, entry: 2, hard_state: 3, batch_end: 4 };
const typesByCode: readonly (LogRecordType | undefined)[] = [undefined, 'segment_header', 'entry', 'hard_state', 'batch_end'];
const entryKinds: readonly EntryKind[] = ['normal', 'noop', 'membership'];
const entryKindCodes: Readonly<Record<EntryKind, number>> = { normal: 0, noop: 1, membership: 2 };

const entryFixedBytes = 17;
const hardStateFixedBytes = 18;
const segmentHeaderFixedBytes = 4 + 1 + 1 + 8 + 8;
const replacesLogFlag = 1;
const votedForNull = 0xffff;
/** Node ids are short (writer config: 1–32 chars); this bounds what a record may claim. */
export const votedForBytesMax = 1024;
const twoToThe32 = 0x1_0000_0000;

const minimumPayloadBytes: Readonly<Record<LogRecordType, number>> = {
  segment_header: segmentHeaderFixedBytes + hardStateFixedBytes,
  entry: entryFixedBytes,
  hard_state: hardStateFixedBytes,
  batch_end: 4,
};

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export interface SegmentHeader {
  readonly sequence: number;
  /** Set when a snapshot replaced the whole log: every earlier entry is void. */
  readonly replacesLog: boolean;
  readonly firstIndex: number;
  readonly hardState: HardState;
}

/** Encodes records back to back into a buffer that grows as needed and is reused across calls. */
export class LogRecordWriter {
  #buffer: Buffer;
  #length = 0;
  #recordStart = 0;

  constructor(initialBytes = 1024 * 1024) {
    this.#buffer = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.#length;
  }

  /** The encoded bytes (a view, valid until the next call that writes). */
  bytes(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  clear(): void {
    this.#length = 0;
  }

  appendSegmentHeader(header: SegmentHeader): void {
    const votedFor = encodeVotedFor(header.hardState.votedFor);
    this.#begin('segment_header', segmentHeaderFixedBytes + hardStateFixedBytes + (votedFor?.length ?? 0));
    this.#u32(segmentMagic);
    this.#u8(segmentFormatVersion);
    this.#u8(header.replacesLog ? replacesLogFlag : 0);
    this.#u64(header.sequence);
    this.#u64(header.firstIndex);
    this.#hardState(header.hardState, votedFor);
    this.#end();
  }

  appendEntry(entry: Entry): void {
    if (entry.data.length > recordPayloadBytesMax - entryFixedBytes) assert.fail(`entry ${entry.index} exceeds the record size limit`);
    this.#begin('entry', entryFixedBytes + entry.data.length);
    this.#u64(entry.index);
    this.#u64(entry.term);
    this.#u8(entryKindCodes[entry.kind]);
    this.#buffer.set(entry.data, this.#length);
    this.#length += entry.data.length;
    this.#end();
  }

  appendHardState(hardState: HardState): void {
    const votedFor = encodeVotedFor(hardState.votedFor);
    this.#begin('hard_state', hardStateFixedBytes + (votedFor?.length ?? 0));
    this.#hardState(hardState, votedFor);
    this.#end();
  }

  /** Ends the batch of records appended since clear(). */
  appendBatchEnd(): void {
    const batchBytes = this.#length;
    assert(batchBytes < twoToThe32, 'a batch must stay below 4 GiB');
    this.#begin('batch_end', 4);
    this.#u32(batchBytes);
    this.#end();
  }

  #begin(type: LogRecordType, payloadBytes: number): void {
    this.#reserve(recordHeaderBytes + payloadBytes);
    this.#recordStart = this.#length;
    this.#buffer.writeUInt32LE(payloadBytes, this.#length + 4);
    this.#buffer[this.#length + 8] = typeCodes[type];
    this.#length += recordHeaderBytes;
  }

  #end(): void {
    const start = this.#recordStart;
    const checksum = crc32(this.#buffer.subarray(start + 4, this.#length));
    this.#buffer.writeUInt32LE(checksum, start);
    assert(this.#buffer.readUInt32LE(start + 4) === this.#length - start - recordHeaderBytes, 'record length mismatch');
  }

  #hardState(hardState: HardState, votedFor: Uint8Array | null): void {
    this.#u64(hardState.term);
    this.#u64(hardState.commit);
    if (votedFor === null) {
      this.#buffer.writeUInt16LE(votedForNull, this.#length);
      this.#length += 2;
      return;
    }
    this.#buffer.writeUInt16LE(votedFor.length, this.#length);
    this.#length += 2;
    this.#buffer.set(votedFor, this.#length);
    this.#length += votedFor.length;
  }

  #u8(value: number): void {
    this.#buffer[this.#length++] = value;
  }

  #u32(value: number): void {
    this.#buffer.writeUInt32LE(value, this.#length);
    this.#length += 4;
  }

  #u64(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) assert.fail(`cannot encode ${value} as u64`);
    this.#buffer.writeUInt32LE(value % twoToThe32, this.#length);
    this.#buffer.writeUInt32LE(Math.floor(value / twoToThe32), this.#length + 4);
    this.#length += 8;
  }

  #reserve(bytes: number): void {
    if (this.#length + bytes <= this.#buffer.length) return;
    let capacity = this.#buffer.length * 2;
    while (capacity < this.#length + bytes) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}

function encodeVotedFor(votedFor: string | null): Uint8Array | null {
  if (votedFor === null) return null;
  const bytes = textEncoder.encode(votedFor);
  assert(bytes.length <= votedForBytesMax, 'votedFor is longer than a node id may be');
  return bytes;
}

// ───────────────────────────── decoding ─────────────────────────────

export type DecodedLogRecord =
  | { readonly type: 'segment_header'; readonly header: SegmentHeader }
  | { readonly type: 'entry'; readonly entry: Entry }
  | { readonly type: 'hard_state'; readonly hardState: HardState }
  | { readonly type: 'batch_end'; readonly batchBytes: number };

export type ReadLogRecordResult =
  | { readonly ok: true; readonly record: DecodedLogRecord; readonly nextOffset: number }
  /** `torn`: the bytes end inside the record (an unfinished write looks like this). */
  | { readonly ok: false; readonly problem: 'torn' | 'checksum_mismatch' | 'invalid_record'; readonly reason: string };

/** Decodes the record at `offset` (< bytes.length). Entry data is copied out of `bytes`. */
export function readLogRecord(bytes: Buffer, offset: number): ReadLogRecordResult {
  const remaining = bytes.length - offset;
  if (remaining < recordHeaderBytes) {
    return { ok: false, problem: 'torn', reason: `${remaining} bytes left, a record header needs ${recordHeaderBytes}` };
  }
  const payloadBytes = bytes.readUInt32LE(offset + 4);
  const type = typesByCode[bytes[offset + 8]!];
  if (type === undefined || payloadBytes < minimumPayloadBytes[type] || payloadBytes > recordPayloadBytesMax) {
    // A torn header (zeros or a partial write) or a corrupt one: the checksum cannot be trusted.
    return { ok: false, problem: 'invalid_record', reason: `type code ${bytes[offset + 8]} with payload length ${payloadBytes}` };
  }
  const end = offset + recordHeaderBytes + payloadBytes;
  if (end > bytes.length) {
    return { ok: false, problem: 'torn', reason: `record of ${recordHeaderBytes + payloadBytes} bytes, ${remaining} left` };
  }
  const expected = bytes.readUInt32LE(offset);
  const actual = crc32(bytes.subarray(offset + 4, end));
  if (expected !== actual) return { ok: false, problem: 'checksum_mismatch', reason: `crc32 ${actual} != stored ${expected}` };
  const payload = offset + recordHeaderBytes;
  switch (type) {
    case 'entry': {
      const kind = entryKinds[bytes[payload + 16]!];
      if (kind === undefined) return { ok: false, problem: 'invalid_record', reason: `entry kind ${bytes[payload + 16]}` };
      const data = new Uint8Array(end - payload - entryFixedBytes);
      data.set(bytes.subarray(payload + entryFixedBytes, end));
      const entry: Entry = { index: readU64(bytes, payload), term: readU64(bytes, payload + 8), kind, data };
      return { ok: true, record: { type, entry }, nextOffset: end };
    }
    case 'hard_state': {
      const hardState = readHardState(bytes, payload, end);
      if (hardState === undefined) return { ok: false, problem: 'invalid_record', reason: 'malformed hard state' };
      return { ok: true, record: { type, hardState }, nextOffset: end };
    }
    case 'batch_end':
      if (payloadBytes !== 4) return { ok: false, problem: 'invalid_record', reason: 'malformed batch end' };
      return { ok: true, record: { type, batchBytes: bytes.readUInt32LE(payload) }, nextOffset: end };
    case 'segment_header': {
      const flags = bytes[payload + 5]!;
      if (bytes.readUInt32LE(payload) !== segmentMagic || bytes[payload + 4] !== segmentFormatVersion || (flags & ~replacesLogFlag) !== 0) {
        return { ok: false, problem: 'invalid_record', reason: 'segment header magic, version or flags' };
      }
      const hardState = readHardState(bytes, payload + segmentHeaderFixedBytes, end);
      if (hardState === undefined) return { ok: false, problem: 'invalid_record', reason: 'malformed hard state in segment header' };
      const header: SegmentHeader = {
        sequence: readU64(bytes, payload + 6),
        replacesLog: (flags & replacesLogFlag) !== 0,
        firstIndex: readU64(bytes, payload + 14),
        hardState,
      };
      return { ok: true, record: { type, header }, nextOffset: end };
    }
    default: {
      const _exhaustive: never = type;
      return _exhaustive;
    }
  }
}

function readU64(bytes: Buffer, offset: number): number {
  return bytes.readUInt32LE(offset) + bytes.readUInt32LE(offset + 4) * twoToThe32;
}

function readHardState(bytes: Buffer, offset: number, end: number): HardState | undefined {
  const votedForLength = bytes.readUInt16LE(offset + 16);
  const term = readU64(bytes, offset);
  const commit = readU64(bytes, offset + 8);
  if (!Number.isSafeInteger(term) || !Number.isSafeInteger(commit)) return undefined;
  if (votedForLength === votedForNull) {
    return offset + hardStateFixedBytes === end ? { term, commit, votedFor: null } : undefined;
  }
  if (offset + hardStateFixedBytes + votedForLength !== end) return undefined;
  try {
    return { term, commit, votedFor: textDecoder.decode(bytes.subarray(offset + hardStateFixedBytes, end)) };
  } catch {
    return undefined; // not utf-8: the caller reports the record as invalid
  }
}
