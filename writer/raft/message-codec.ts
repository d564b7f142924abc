// Compact binary encoding of Raft messages for the transport: a type tag, then fields in a fixed
// order; integers as unsigned LEB128 varints, strings and byte arrays length-prefixed, entry
// payloads and snapshot chunks embedded as-is. The transport frames the result.

import { ByteSink } from '../../common/binary/byte-sink.ts';
import type { Entry, EntryKind } from './entry.ts';
import type { Membership } from './membership.ts';
import type { Message, MessageType, SnapshotMetadata } from './message.ts';

export type MessageDecodeResult =
  | { ok: true; message: Message }
  | { ok: false; error: { code: 'malformed_message'; reason: string } };

const typeTags: readonly MessageType[] = [
  'pre_vote_request',
  'vote_request',
  'pre_vote_response',
  'vote_response',
  'append_entries',
  'append_response',
  'heartbeat',
  'heartbeat_response',
  'install_snapshot',
  'install_snapshot_response',
  'timeout_now',
];
const entryKinds: readonly EntryKind[] = ['normal', 'noop', 'membership'];
/** Guards against hostile lengths before allocating. */
const membersPerMembershipMax = 1024;
const stringBytesMax = 1024;

const textDecoder = new TextDecoder('utf-8', { fatal: true });

class ByteReader {
  readonly #buffer: Uint8Array;
  #position = 0;

  constructor(buffer: Uint8Array) {
    this.#buffer = buffer;
  }

  get done(): boolean {
    return this.#position === this.#buffer.length;
  }

  byte(): number {
    const value = this.#buffer[this.#position];
    if (value === undefined) throw new DecodeFailure('unexpected end of message');
    this.#position++;
    return value;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let shift = 0; shift < 8; shift++) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) throw new DecodeFailure('varint beyond 2^53');
        return value;
      }
      scale *= 0x80;
    }
    throw new DecodeFailure('varint too long');
  }

  bytes(): Uint8Array {
    const length = this.varint();
    if (this.#position + length > this.#buffer.length) throw new DecodeFailure('byte field runs past the end');
    const value = this.#buffer.slice(this.#position, this.#position + length);
    this.#position += length;
    return value;
  }

  string(): string {
    const bytes = this.bytes();
    if (bytes.length > stringBytesMax) throw new DecodeFailure('string too long');
    try {
      return textDecoder.decode(bytes);
    } catch {
      throw new DecodeFailure('string is not UTF-8');
    }
  }

  boolean(): boolean {
    const value = this.byte();
    if (value > 1) throw new DecodeFailure('boolean must be 0 or 1');
    return value === 1;
  }
}

class DecodeFailure extends Error {}

function writeMembership(writer: ByteSink, membership: Membership): void {
  writer.varint(membership.voters.length);
  for (const voter of membership.voters) writer.utf8(voter);
  writer.varint(membership.learners.length);
  for (const learner of membership.learners) writer.utf8(learner);
}

function readMembers(reader: ByteReader): string[] {
  const count = reader.varint();
  if (count > membersPerMembershipMax) throw new DecodeFailure('too many members');
  const members: string[] = [];
  for (let i = 0; i < count; i++) members.push(reader.string());
  return members;
}

function writeSnapshotMetadata(writer: ByteSink, metadata: SnapshotMetadata): void {
  writer.varint(metadata.index);
  writer.varint(metadata.term);
  writeMembership(writer, metadata.membership);
}

function readSnapshotMetadata(reader: ByteReader): SnapshotMetadata {
  const index = reader.varint();
  const term = reader.varint();
  const voters = readMembers(reader);
  const learners = readMembers(reader);
  return { index, term, membership: { voters, learners } };
}

export function encodeMessage(message: Message): Uint8Array {
  const writer = new ByteSink(256);
  writer.byte(typeTags.indexOf(message.type));
  writer.utf8(message.from);
  writer.utf8(message.to);
  writer.varint(message.term);
  switch (message.type) {
    case 'pre_vote_request':
      writer.varint(message.lastLogIndex);
      writer.varint(message.lastLogTerm);
      break;
    case 'vote_request':
      writer.varint(message.lastLogIndex);
      writer.varint(message.lastLogTerm);
      writer.byte(message.leadershipTransfer ? 1 : 0);
      break;
    case 'pre_vote_response':
    case 'vote_response':
      writer.byte(message.granted ? 1 : 0);
      break;
    case 'append_entries':
      writer.varint(message.prevLogIndex);
      writer.varint(message.prevLogTerm);
      writer.varint(message.commit);
      writer.varint(message.entries.length);
      for (const entry of message.entries) {
        writer.varint(entry.index);
        writer.varint(entry.term);
        writer.byte(entryKinds.indexOf(entry.kind));
        writer.bytes(entry.data);
      }
      break;
    case 'append_response':
      writer.byte(message.success ? 1 : 0);
      writer.varint(message.matchIndex);
      writer.varint(message.rejectedIndex);
      writer.varint(message.conflictTerm);
      writer.varint(message.conflictIndex);
      break;
    case 'heartbeat':
      writer.varint(message.commit);
      break;
    case 'heartbeat_response':
      writer.varint(message.commit);
      break;
    case 'install_snapshot':
      writeSnapshotMetadata(writer, message.metadata);
      writer.varint(message.offset);
      writer.bytes(message.chunk);
      writer.byte(message.done ? 1 : 0);
      break;
    case 'install_snapshot_response':
      writer.varint(message.snapshotIndex);
      writer.varint(message.nextOffset);
      writer.byte(message.done ? 1 : 0);
      break;
    case 'timeout_now':
      break;
    default: {
      const _exhaustive: never = message;
      return _exhaustive;
    }
  }
  return writer.finish();
}

function readMessage(reader: ByteReader): Message {
  const type = typeTags[reader.byte()];
  if (type === undefined) throw new DecodeFailure('unknown message type');
  const from = reader.string();
  const to = reader.string();
  const term = reader.varint();
  switch (type) {
    case 'pre_vote_request':
      return { type, from, to, term, lastLogIndex: reader.varint(), lastLogTerm: reader.varint() };
    case 'vote_request':
      return { type, from, to, term, lastLogIndex: reader.varint(), lastLogTerm: reader.varint(), leadershipTransfer: reader.boolean() };
    case 'pre_vote_response':
    case 'vote_response':
      return { type, from, to, term, granted: reader.boolean() };
    case 'append_entries': {
      const prevLogIndex = reader.varint();
      const prevLogTerm = reader.varint();
      const commit = reader.varint();
      const count = reader.varint();
      const entries: Entry[] = [];
      for (let i = 0; i < count; i++) {
        const index = reader.varint();
        const entryTerm = reader.varint();
        const kind = entryKinds[reader.byte()];
        if (kind === undefined) throw new DecodeFailure('unknown entry kind');
        entries.push({ index, term: entryTerm, kind, data: reader.bytes() });
      }
      return { type, from, to, term, prevLogIndex, prevLogTerm, entries, commit };
    }
    case 'append_response':
      return {
        type, from, to, term, success: reader.boolean(), matchIndex: reader.varint(),
        rejectedIndex: reader.varint(), conflictTerm: reader.varint(), conflictIndex: reader.varint(),
      };
    case 'heartbeat':
      return { type, from, to, term, commit: reader.varint() };
    case 'heartbeat_response':
      return { type, from, to, term, commit: reader.varint() };
    case 'install_snapshot': {
      const metadata = readSnapshotMetadata(reader);
      return { type, from, to, term, metadata, offset: reader.varint(), chunk: reader.bytes(), done: reader.boolean() };
    }
    case 'install_snapshot_response':
      return { type, from, to, term, snapshotIndex: reader.varint(), nextOffset: reader.varint(), done: reader.boolean() };
    case 'timeout_now':
      return { type, from, to, term };
    default: {
      const _exhaustive: never = type;
      return _exhaustive;
    }
  }
}

export function decodeMessage(bytes: Uint8Array): MessageDecodeResult {
  try {
    const reader = new ByteReader(bytes);
    const message = readMessage(reader);
    if (!reader.done) return { ok: false, error: { code: 'malformed_message', reason: 'trailing bytes' } };
    return { ok: true, message };
  } catch (error) {
    if (error instanceof DecodeFailure) return { ok: false, error: { code: 'malformed_message', reason: error.message } };
    throw error;
  }
}
