// Snapshot files: `snapshot-<index>-<term>.snap`, written atomically (temporary name, fsync,
// rename, fsync the directory), so a crash leaves the old snapshot or the whole new one.
//
//   offset 0   u32 LE  magic 'RSNP'
//   offset 4   u8      format version
//   offset 5   u32 LE  metadata length (bytes of JSON)
//   offset 9   u32 LE  data length, low half
//   offset 13  u32 LE  data length, high half
//   offset 17  metadata JSON { index, term, membership: { voters, learners } }
//   then       data bytes as-is
//   last 4     u32 LE  crc32 of everything before it

import fs from 'node:fs';
import { crc32 } from 'node:zlib';
import type { Membership } from '../raft/membership.ts';
import type { Snapshot, SnapshotMetadata } from '../raft/message.ts';
import { writeFileAtomically, writeFileAtomicallyAsync, type TimedFsync } from './durable-file.ts';

const snapshotMagic = 0x504e5352; // 'RSNP' read as u32 LE
const snapshotFormatVersion = 1;
const headerBytes = 17;
const checksumBytes = 4;
/** Metadata is a membership list; anything larger is corrupt. */
const metadataBytesMax = 1024 * 1024;
const twoToThe32 = 0x1_0000_0000;
const snapshotNamePattern = /^snapshot-(\d{1,16})-(\d{1,16})\.snap$/;

export interface SnapshotFileName {
  readonly name: string;
  readonly index: number;
  readonly term: number;
}

export function snapshotFileName(index: number, term: number): string {
  return `snapshot-${index}-${term}.snap`;
}

export function parseSnapshotFileName(name: string): SnapshotFileName | undefined {
  const match = snapshotNamePattern.exec(name);
  if (match === null) return undefined;
  const index = Number(match[1]);
  const term = Number(match[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term)) return undefined;
  return { name, index, term };
}

/** Newest first: by index, then term. */
export function compareSnapshotNamesNewestFirst(a: SnapshotFileName, b: SnapshotFileName): number {
  return b.index - a.index || b.term - a.term;
}

export function writeSnapshotFile(directory: string, snapshot: Snapshot, fsync: TimedFsync): string {
  const { name, chunks } = snapshotFileContents(snapshot);
  writeFileAtomically(directory, name, chunks, 'snapshot', fsync);
  return name;
}

/** `writeSnapshotFile` without blocking the event loop on the data's writes and fsync. */
export async function writeSnapshotFileAsync(directory: string, snapshot: Snapshot, fsyncFile: (handle: fs.promises.FileHandle) => Promise<void>, fsync: TimedFsync): Promise<string> {
  const { name, chunks } = snapshotFileContents(snapshot);
  await writeFileAtomicallyAsync(directory, name, chunks, fsyncFile, fsync);
  return name;
}

function snapshotFileContents(snapshot: Snapshot): { name: string; chunks: Uint8Array[] } {
  const { index, term, membership } = snapshot.metadata;
  const metadata = new TextEncoder().encode(JSON.stringify({ index, term, membership }));
  const header = Buffer.alloc(headerBytes);
  header.writeUInt32LE(snapshotMagic, 0);
  header[4] = snapshotFormatVersion;
  header.writeUInt32LE(metadata.length, 5);
  header.writeUInt32LE(snapshot.data.length % twoToThe32, 9);
  header.writeUInt32LE(Math.floor(snapshot.data.length / twoToThe32), 13);
  const checksum = Buffer.alloc(checksumBytes);
  checksum.writeUInt32LE(crc32(snapshot.data, crc32(metadata, crc32(header))), 0);
  return { name: snapshotFileName(index, term), chunks: [header, metadata, snapshot.data, checksum] };
}

export type ReadSnapshotResult = { readonly ok: true; readonly snapshot: Snapshot } | { readonly ok: false; readonly reason: string };

export function readSnapshotFile(filePath: string, expected: SnapshotFileName): ReadSnapshotResult {
  const bytes = fs.readFileSync(filePath);
  if (bytes.length < headerBytes + checksumBytes) return { ok: false, reason: `${bytes.length} bytes is too short` };
  const stored = bytes.readUInt32LE(bytes.length - checksumBytes);
  const actual = crc32(bytes.subarray(0, bytes.length - checksumBytes));
  if (stored !== actual) return { ok: false, reason: `checksum mismatch (crc32 ${actual} != stored ${stored})` };
  if (bytes.readUInt32LE(0) !== snapshotMagic || bytes[4] !== snapshotFormatVersion) {
    return { ok: false, reason: 'bad magic or format version' };
  }
  const metadataLength = bytes.readUInt32LE(5);
  const dataLength = bytes.readUInt32LE(9) + bytes.readUInt32LE(13) * twoToThe32;
  if (metadataLength > metadataBytesMax || headerBytes + metadataLength + dataLength + checksumBytes !== bytes.length) {
    return { ok: false, reason: `lengths (metadata ${metadataLength}, data ${dataLength}) do not match the file size` };
  }
  const metadata = parseMetadata(bytes.subarray(headerBytes, headerBytes + metadataLength));
  if (metadata === undefined) return { ok: false, reason: 'malformed metadata' };
  if (metadata.index !== expected.index || metadata.term !== expected.term) {
    return { ok: false, reason: `metadata says index ${metadata.index} term ${metadata.term}, the file name disagrees` };
  }
  const dataStart = headerBytes + metadataLength;
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset + dataStart, dataLength);
  return { ok: true, snapshot: { metadata, data } };
}

function parseMetadata(bytes: Uint8Array): SnapshotMetadata | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined; // covered by the checksum; reported by the caller as malformed metadata
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { index, term, membership } = parsed as Record<string, unknown>;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term) || (index as number) < 0 || (term as number) < 0) return undefined;
  if (typeof membership !== 'object' || membership === null) return undefined;
  const { voters, learners } = membership as Record<string, unknown>;
  if (!isStringArray(voters) || !isStringArray(learners)) return undefined;
  const checked: Membership = { voters, learners };
  return { index: index as number, term: term as number, membership: checked };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
