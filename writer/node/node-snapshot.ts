/**
 * A writer node's snapshot data: the ledger state (encodeSnapshot's bytes, opaque here) plus what
 * the Kafka publisher still needs from the entries the snapshot covers.
 *
 * The log is compacted only up to the published watermark's floor (DESIGN.md §5), but the
 * snapshot a leader SENDS to a lagging follower is at index S above that floor: a follower that
 * installs it never receives the entries (floor, S]. So the snapshot carries those entries'
 * command records (with index and term) and the replicated watermark, and a node restored from it
 * — by the leader or from its own disk — can still publish every event above the watermark.
 *
 * Layout: magic `LNS1` (4 bytes), header length (u32 BE), header JSON
 * `{ publishedSeq, floorIndex, floorSeq, records: [{ index, term, bytes }] }`, then the ledger
 * snapshot bytes, then each record's bytes in order.
 */
import assert from 'node:assert/strict';

export interface RetainedRecord {
  readonly index: number;
  readonly term: number;
  /** The entry's `normal` payload (a command record) exactly as in the log. */
  readonly data: Uint8Array;
}

export interface NodeSnapshot {
  /** encodeSnapshot(committed ledger state). */
  readonly ledger: Uint8Array;
  /** The replicated published watermark at the snapshot's index. */
  readonly publishedSeq: number;
  /** Records below or at this index are not carried (all their events are published). */
  readonly floorIndex: number;
  /** lastSeq after applying entry `floorIndex`. */
  readonly floorSeq: number;
  /** Command records of (floorIndex, snapshot index] with events, in index order. */
  readonly records: readonly RetainedRecord[];
}

const magic = Buffer.from('LNS1', 'ascii');
const prefixBytes = magic.length + 4;

export class NodeSnapshotDecodeError extends Error {
  constructor(reason: string) {
    super(`invalid node snapshot: ${reason}`);
    this.name = 'NodeSnapshotDecodeError';
  }
}

export function encodeNodeSnapshot(snapshot: NodeSnapshot): Uint8Array {
  let previous = snapshot.floorIndex;
  for (const record of snapshot.records) {
    assert(record.index > previous, `retained records must be above the floor and in index order: ${record.index} after ${previous}`);
    previous = record.index;
  }
  const header = Buffer.from(JSON.stringify({
    publishedSeq: snapshot.publishedSeq, floorIndex: snapshot.floorIndex, floorSeq: snapshot.floorSeq,
    records: snapshot.records.map((record) => ({ index: record.index, term: record.term, bytes: record.data.length })),
  }), 'utf8');
  const prefix = Buffer.alloc(prefixBytes);
  magic.copy(prefix, 0);
  prefix.writeUInt32BE(header.length, magic.length);
  return Buffer.concat([prefix, header, snapshot.ledger, ...snapshot.records.map((record) => record.data)]);
}

/** True when `bytes` are a node snapshot (not a bare ledger snapshot written before the publisher existed). */
export function isNodeSnapshot(bytes: Uint8Array): boolean {
  return bytes.length >= prefixBytes && Buffer.from(bytes.buffer, bytes.byteOffset, magic.length).equals(magic);
}

export function decodeNodeSnapshot(bytes: Uint8Array): NodeSnapshot {
  if (!isNodeSnapshot(bytes)) throw new NodeSnapshotDecodeError('missing the LNS1 magic');
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = buffer.readUInt32BE(magic.length);
  if (prefixBytes + headerLength > buffer.length) throw new NodeSnapshotDecodeError(`header of ${headerLength} bytes overruns ${buffer.length} bytes`);
  let header: { publishedSeq?: unknown; floorIndex?: unknown; floorSeq?: unknown; records?: unknown };
  try {
    header = JSON.parse(buffer.subarray(prefixBytes, prefixBytes + headerLength).toString('utf8')) as typeof header;
  } catch (error) {
    throw new NodeSnapshotDecodeError(`header is not JSON (${(error as Error).message})`);
  }
  const integer = (value: unknown, name: string): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new NodeSnapshotDecodeError(`${name} is not a non-negative integer`);
    return value;
  };
  const publishedSeq = integer(header.publishedSeq, 'publishedSeq');
  const floorIndex = integer(header.floorIndex, 'floorIndex');
  const floorSeq = integer(header.floorSeq, 'floorSeq');
  if (!Array.isArray(header.records)) throw new NodeSnapshotDecodeError('records is not an array');
  const layout = (header.records as { index?: unknown; term?: unknown; bytes?: unknown }[]).map((record, position) => ({
    index: integer(record.index, `records[${position}].index`), term: integer(record.term, `records[${position}].term`), bytes: integer(record.bytes, `records[${position}].bytes`),
  }));
  const recordBytes = layout.reduce((sum, record) => sum + record.bytes, 0);
  const ledgerStart = prefixBytes + headerLength;
  const ledgerEnd = buffer.length - recordBytes;
  if (ledgerEnd < ledgerStart) throw new NodeSnapshotDecodeError(`records of ${recordBytes} bytes overrun the snapshot`);
  const records: RetainedRecord[] = [];
  let at = ledgerEnd;
  let previous = floorIndex;
  for (const record of layout) {
    if (record.index <= previous) throw new NodeSnapshotDecodeError(`record index ${record.index} not above ${previous}`);
    previous = record.index;
    records.push({ index: record.index, term: record.term, data: buffer.subarray(at, at + record.bytes) });
    at += record.bytes;
  }
  return { ledger: buffer.subarray(ledgerStart, ledgerEnd), publishedSeq, floorIndex, floorSeq, records };
}
