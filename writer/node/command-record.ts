/**
 * What one Raft entry of kind `normal` carries. Two variants:
 * - a command record: the events the leader decided for one command, with the command's id and
 *   the leader's clock. Followers only decode and apply these events; they never re-decide
 *   (DESIGN.md §2: replicate events, not commands);
 * - a published-watermark record: the leader's publisher has committed every event up to `seq`
 *   to Kafka. Applying it sets the node's replicated `publishedSeq` (the compaction floor, DESIGN.md
 *   §5); it carries no ledger events and never changes seq.
 */
import { decodeEvent, type EncodedLedgerEvent, type LedgerEvent } from '../ledger/index.ts';
import { ByteSink } from '../../common/binary/byte-sink.ts';
import { BinaryDecodeError, ByteSource, readEvents, stringBytesMax, writeEvents } from '../ledger/binary-event-codec.ts';

export interface CommandRecord {
  readonly commandId: string;
  /** The leader's clock when it decided the command, ms since the epoch. */
  readonly occurredAt: number;
  readonly events: readonly LedgerEvent[];
}

export interface PublishedWatermarkRecord {
  /** Every event with seq ≤ this is committed in Kafka (read_committed visible). */
  readonly seq: number;
}

/** A decoded `normal` entry: exactly one of the two variants. */
export type NodeRecord =
  | ({ readonly kind: 'command' } & CommandRecord)
  | ({ readonly kind: 'published' } & PublishedWatermarkRecord);

/*
 * ENCODING. Records are written in a binary form (every node decodes every record it applies,
 * and the leader re-decodes its own: JSON text validated field by field was the largest CPU cost
 * of a node under load):
 *   command record     u8 0x02, commandId (varint length + UTF-8), occurredAt varint, then the
 *                      events as ledger/binary-event-codec.ts writes them (varint count, events)
 *   published record   u8 0x03, seq varint
 * The original JSON form, `{ "v": 1, … }` (first byte '{'), is still read, so a log written by an
 * earlier version replays unchanged; it is no longer written.
 */
const recordVersion = 1;
const jsonFirstByte = 0x7b; // '{'
const commandRecordTag = 0x02;
const publishedRecordTag = 0x03;
const decoder = new TextDecoder('utf-8', { fatal: true });
/** Reused by every encode (encoding is synchronous); finish() copies the bytes out. */
const sink = new ByteSink();
/**
 * The leader applies the very entries it proposed (the same Uint8Array reaches its apply loop):
 * the first decode of bytes this process encoded takes the record it encoded instead of decoding
 * its own output again. Taken once, so a record is held only while its entry awaits commit, and
 * weakly, so an entry dropped from the log frees it.
 */
const encodedRecords = new WeakMap<Uint8Array, NodeRecord>();

export function encodeCommandRecord(record: CommandRecord): Uint8Array {
  sink.reset();
  sink.byte(commandRecordTag);
  sink.utf8(record.commandId);
  sink.varint(record.occurredAt);
  writeEvents(sink, record.events);
  const bytes = sink.finish();
  encodedRecords.set(bytes, { kind: 'command', commandId: record.commandId, occurredAt: record.occurredAt, events: record.events });
  return bytes;
}

export function encodePublishedWatermarkRecord(record: PublishedWatermarkRecord): Uint8Array {
  if (!Number.isSafeInteger(record.seq) || record.seq < 0) throw new RangeError(`published watermark seq ${record.seq} must be a non-negative integer`);
  sink.reset();
  sink.byte(publishedRecordTag);
  sink.varint(record.seq);
  return sink.finish();
}

export class CommandRecordDecodeError extends Error {
  constructor(reason: string) {
    super(`invalid command record in the Raft log: ${reason}`);
    this.name = 'CommandRecordDecodeError';
  }
}

/** Decodes either variant, in the binary form or the original JSON form. */
export function decodeNodeRecord(bytes: Uint8Array): NodeRecord {
  const encoded = encodedRecords.get(bytes);
  if (encoded !== undefined) {
    encodedRecords.delete(bytes);
    return encoded;
  }
  const tag = bytes[0];
  if (tag === commandRecordTag || tag === publishedRecordTag) return decodeBinaryRecord(bytes);
  if (tag === jsonFirstByte) return decodeJsonRecord(bytes);
  throw new CommandRecordDecodeError(`unknown record tag ${String(tag)}`);
}

function decodeBinaryRecord(bytes: Uint8Array): NodeRecord {
  try {
    const source = new ByteSource(bytes);
    const tag = source.byte('tag');
    let record: NodeRecord;
    if (tag === publishedRecordTag) {
      record = { kind: 'published', seq: source.varint('published seq') };
    } else {
      const commandId = source.utf8('commandId', stringBytesMax);
      const occurredAt = source.varint('occurredAt');
      record = { kind: 'command', commandId, occurredAt, events: readEvents(source) };
    }
    if (!source.done) throw new BinaryDecodeError('record', 'has trailing bytes');
    return record;
  } catch (error) {
    if (error instanceof BinaryDecodeError) throw new CommandRecordDecodeError(error.message);
    throw error;
  }
}

/** A record without `kind` is a command record (the first format). */
function decodeJsonRecord(bytes: Uint8Array): NodeRecord {
  let root: { v?: unknown; kind?: unknown; seq?: unknown; commandId?: unknown; occurredAt?: unknown; events?: unknown };
  try {
    root = JSON.parse(decoder.decode(bytes)) as typeof root;
  } catch (error) {
    throw new CommandRecordDecodeError(`not JSON (${(error as Error).message})`);
  }
  if (root.v !== recordVersion) throw new CommandRecordDecodeError(`unknown version ${String(root.v)}`);
  if (root.kind === 'published') {
    if (typeof root.seq !== 'number' || !Number.isSafeInteger(root.seq) || root.seq < 0) throw new CommandRecordDecodeError('published seq is not a non-negative integer');
    return { kind: 'published', seq: root.seq };
  }
  if (root.kind !== undefined) throw new CommandRecordDecodeError(`unknown record kind ${JSON.stringify(root.kind)}`);
  if (typeof root.commandId !== 'string') throw new CommandRecordDecodeError('commandId is not a string');
  if (typeof root.occurredAt !== 'number' || !Number.isSafeInteger(root.occurredAt)) throw new CommandRecordDecodeError('occurredAt is not an integer');
  if (!Array.isArray(root.events)) throw new CommandRecordDecodeError('events is not an array');
  return {
    kind: 'command',
    commandId: root.commandId,
    occurredAt: root.occurredAt,
    events: (root.events as EncodedLedgerEvent[]).map((event) => decodeEvent(event)),
  };
}

/** The ledger events a `normal` entry carries (none for a watermark record). */
export function recordEvents(record: NodeRecord): readonly LedgerEvent[] {
  return record.kind === 'command' ? record.events : [];
}
