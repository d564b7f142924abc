/**
 * The Kafka envelope of a ledger event (DESIGN.md §5): the single definition both the writer's
 * publisher (encode) and the projectors (decode) use.
 *
 * Value: JSON `{ "v": 1, "shard", "seq", "raftIndex", "raftTerm", "eventId", "type", "occurredAt",
 * "commandId", "data" }` where `data` is `encodeEvent(event).data` (amounts as decimal strings),
 * `occurredAt` is ISO-8601 UTC with milliseconds (the leader's clock when it decided the command)
 * and `eventId` is `${commandId}:${n}` (n = 0-based position among the command's events).
 * One Kafka message per event: key = shard as a decimal string, partition = shard, headers `seq`
 * and `type` (decimal string and event type name).
 *
 * `decodeEnvelope` never throws for bad input: it returns a typed `EnvelopeDecodeError` naming the
 * field (and the shard/seq when they could be read), so a projector can stop that partition with
 * shard, seq and reason instead of skipping the event.
 */
import { decodeEvent, encodeEvent, EventDecodeError, type JsonValue } from '../../writer/ledger/event-codec.ts';
import type { LedgerEvent, LedgerEventType } from '../../writer/ledger/events.ts';

export const envelopeVersion = 1;

/** Largest shard number an envelope may carry (Kafka partitions are int32; we bound it lower). */
export const shardMax = 65_535;

export interface EventEnvelope {
  readonly v: typeof envelopeVersion;
  readonly shard: number;
  /** Dense per-shard position, 1, 2, 3, … */
  readonly seq: number;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly eventId: string;
  readonly type: LedgerEventType;
  /** ISO-8601 UTC with milliseconds, e.g. `2026-11-22T10:00:00.000Z`. */
  readonly occurredAt: string;
  readonly commandId: string;
  /** The decoded event (`type` equals `event.type`). */
  readonly event: LedgerEvent;
}

/** What the publisher knows about one event when it publishes it. */
export interface EnvelopeInput {
  readonly shard: number;
  readonly seq: number;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly commandId: string;
  /** 0-based position of the event among its command's events. */
  readonly eventIndex: number;
  /** The leader's clock when it decided the command, ms since the epoch. */
  readonly occurredAtMs: number;
  readonly event: LedgerEvent;
}

/** The kafkajs message shape (structurally compatible with kafkajs `Message`). */
export interface EnvelopeMessage {
  readonly key: string;
  readonly value: string;
  readonly partition: number;
  readonly headers: { readonly seq: string; readonly type: string };
}

/** The parts of a consumed kafkajs message `decodeEnvelope` reads. */
export interface ConsumedMessage {
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>>;
}

export type EnvelopeDecodeErrorCode = 'invalid_envelope' | 'invalid_event' | 'unsupported_envelope_version';

/** A bad envelope: `field` names the culprit, `reason` completes it (`${field} ${reason}`); shard/seq are set when they could be read. */
export interface EnvelopeDecodeError {
  readonly code: EnvelopeDecodeErrorCode;
  readonly field: string;
  readonly reason: string;
  readonly shard: number | undefined;
  readonly seq: number | undefined;
}

export type EnvelopeDecodeResult =
  | { readonly ok: true; readonly envelope: EventEnvelope }
  | { readonly ok: false; readonly error: EnvelopeDecodeError };

const isoUtcMillisPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function eventIdOf(commandId: string, eventIndex: number): string {
  return `${commandId}:${eventIndex}`;
}

export function encodeEnvelope(input: EnvelopeInput): EventEnvelope {
  return {
    v: envelopeVersion,
    shard: input.shard,
    seq: input.seq,
    raftIndex: input.raftIndex,
    raftTerm: input.raftTerm,
    eventId: eventIdOf(input.commandId, input.eventIndex),
    type: input.event.type,
    occurredAt: new Date(input.occurredAtMs).toISOString(),
    commandId: input.commandId,
    event: input.event,
  };
}

/** The kafkajs message of one event: key and partition = shard, headers seq and type. */
export function encodeEnvelopeMessage(input: EnvelopeInput): EnvelopeMessage {
  if (!Number.isSafeInteger(input.shard) || input.shard < 0 || input.shard > shardMax) throw new RangeError(`shard ${input.shard} out of range`);
  if (!Number.isSafeInteger(input.seq) || input.seq < 1) throw new RangeError(`seq ${input.seq} must be a positive integer`);
  if (!Number.isSafeInteger(input.eventIndex) || input.eventIndex < 0) throw new RangeError(`eventIndex ${input.eventIndex} must be ≥ 0`);
  const envelope = encodeEnvelope(input);
  const json: { [key: string]: JsonValue } = {
    v: envelope.v,
    shard: envelope.shard,
    seq: envelope.seq,
    raftIndex: envelope.raftIndex,
    raftTerm: envelope.raftTerm,
    eventId: envelope.eventId,
    type: envelope.type,
    occurredAt: envelope.occurredAt,
    commandId: envelope.commandId,
    data: encodeEvent(input.event).data,
  };
  return {
    key: String(input.shard),
    value: JSON.stringify(json),
    partition: input.shard,
    headers: { seq: String(input.seq), type: envelope.type },
  };
}

/** Parses and validates one consumed message. Never throws for bad input. */
// The consumer decodes every message it reads: no closures or throwaway strings per call.
export function decodeEnvelope(message: ConsumedMessage): EnvelopeDecodeResult {
  if (message.value === null) return decodeFailure('invalid_envelope', 'value', 'is empty (tombstone)', undefined, undefined);
  let json: unknown;
  try {
    json = JSON.parse(typeof message.value === 'string' ? message.value : message.value.toString('utf8'));
  } catch (error) {
    return decodeFailure('invalid_envelope', 'value', `is not JSON: ${(error as Error).message}`, undefined, undefined);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return decodeFailure('invalid_envelope', 'value', 'must be a JSON object', undefined, undefined);
  const root = json as Record<string, unknown>;
  // Shard and seq first, so every later error can name them.
  const shard = integerIn(root.shard, 0, shardMax);
  const seq = integerIn(root.seq, 1, Number.MAX_SAFE_INTEGER);
  if (shard === undefined) return decodeFailure('invalid_envelope', 'shard', `must be an integer in 0..${shardMax}`, shard, seq);
  if (seq === undefined) return decodeFailure('invalid_envelope', 'seq', 'must be a positive integer', shard, seq);
  if (root.v !== envelopeVersion) return decodeFailure('unsupported_envelope_version', 'v', `must be ${envelopeVersion}, got ${JSON.stringify(root.v)}`, shard, seq);
  const raftIndex = integerIn(root.raftIndex, 0, Number.MAX_SAFE_INTEGER);
  if (raftIndex === undefined) return decodeFailure('invalid_envelope', 'raftIndex', 'must be a non-negative integer', shard, seq);
  const raftTerm = integerIn(root.raftTerm, 0, Number.MAX_SAFE_INTEGER);
  if (raftTerm === undefined) return decodeFailure('invalid_envelope', 'raftTerm', 'must be a non-negative integer', shard, seq);
  const commandId = root.commandId;
  if (typeof commandId !== 'string' || commandId.length === 0) return decodeFailure('invalid_envelope', 'commandId', 'must be a non-empty string', shard, seq);
  const eventId = root.eventId;
  if (typeof eventId !== 'string' || !isEventIdOf(eventId, commandId)) return decodeFailure('invalid_envelope', 'eventId', 'must be `${commandId}:${n}`', shard, seq);
  const occurredAt = root.occurredAt;
  if (typeof occurredAt !== 'string' || !isoUtcMillisPattern.test(occurredAt) || Number.isNaN(Date.parse(occurredAt))) {
    return decodeFailure('invalid_envelope', 'occurredAt', 'must be an ISO-8601 UTC timestamp with milliseconds', shard, seq);
  }
  let event: LedgerEvent;
  try {
    event = decodeEvent({ type: root.type, data: root.data });
  } catch (error) {
    if (error instanceof EventDecodeError) return decodeFailure('invalid_event', error.field, error.message.replace(`invalid event: ${error.field} `, ''), shard, seq);
    throw error;
  }
  const headerSeq = headerText(message.headers?.seq);
  if (headerSeq !== undefined && headerSeq !== String(seq)) return decodeFailure('invalid_envelope', 'headers.seq', `${headerSeq} differs from the value's seq`, shard, seq);
  const headerType = headerText(message.headers?.type);
  if (headerType !== undefined && headerType !== event.type) return decodeFailure('invalid_envelope', 'headers.type', `${headerType} differs from the value's type`, shard, seq);
  return { ok: true, envelope: { v: envelopeVersion, shard, seq, raftIndex, raftTerm, eventId, type: event.type, occurredAt, commandId, event } };
}

function decodeFailure(code: EnvelopeDecodeErrorCode, field: string, reason: string, shard: number | undefined, seq: number | undefined): EnvelopeDecodeResult {
  return { ok: false, error: { code, field, reason, shard, seq } };
}

function integerIn(value: unknown, min: number, max: number): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
}

/** `${commandId}:${n}` with n one or more decimal digits. */
function isEventIdOf(eventId: string, commandId: string): boolean {
  const digitsAt = commandId.length + 1;
  if (eventId.length <= digitsAt || !eventId.startsWith(commandId) || eventId.charCodeAt(commandId.length) !== 58 /* ':' */) return false;
  for (let at = digitsAt; at < eventId.length; at += 1) {
    const code = eventId.charCodeAt(at);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

function headerText(header: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const first = Array.isArray(header) ? header[0] : header;
  if (first === undefined) return undefined;
  return typeof first === 'string' ? first : first.toString('utf8');
}
