import type { ByteSink } from '../../common/binary/byte-sink.ts';
import type { AccountFlags } from './account.ts';
import type { LedgerEvent, PendingResolutionData } from './events.ts';
import { amountMax, codeMax, idLengthMax, ledgerMax, timeoutSecondsMax, userDataLengthMax } from './limits.ts';

/**
 * Compact binary form of ledger events, for the Raft log and the peer transport (where every
 * node decodes every event: JSON text plus field-by-field validation of it was the largest CPU
 * cost of a follower). The JSON form (event-codec.ts) stays the Kafka contract.
 *
 * Layout (integers are unsigned LEB128 varints unless said otherwise):
 *   event       type tag u8 (eventTypeTags order), then the fields of its `data` in the order below
 *   id          varint byte length 1..64, then that many bytes of [A-Za-z0-9._:-]
 *   string      varint byte length, then UTF-8
 *   optional    u8 0 (absent) or 1, then the value
 *   boolean     u8 0 or 1
 *   amount      u64 little-endian, 1..2^63-1
 *   AccountCreated         id, ledger, code, flags u8 (bit 0 debitsMustNotExceedCredits,
 *                          bit 1 creditsMustNotExceedDebits), optional userData string
 *   TransferCreated        id, debitAccountId, creditAccountId, amount, ledger, code, optional
 *                          userData, pending boolean, timeoutSeconds, optional timeoutAt
 *   PendingTransferPosted/Voided  id, pendingId, amount, pendingAmount, debitAccountId,
 *                          creditAccountId, ledger, code, optional userData
 *   PendingTransferExpired pendingId, amount, debitAccountId, creditAccountId, ledger, code, expiredAt
 *
 * Decoding checks what the JSON decoder checks (ranges, id charset, flags, the pending rules), so
 * a corrupt or foreign record fails loudly, naming the field, instead of reaching `evolve`.
 */

const eventTypeTags: readonly LedgerEvent['type'][] = [
  'AccountCreated',
  'TransferCreated',
  'PendingTransferPosted',
  'PendingTransferVoided',
  'PendingTransferExpired',
];
const tagOfType: Readonly<Record<LedgerEvent['type'], number>> = {
  AccountCreated: 0,
  TransferCreated: 1,
  PendingTransferPosted: 2,
  PendingTransferVoided: 3,
  PendingTransferExpired: 4,
};

const flagDebitsMustNotExceedCredits = 1;
const flagCreditsMustNotExceedDebits = 2;
/** UTF-8 bytes of the longest userData (userDataLengthMax UTF-16 units, ≤ 3 bytes each). */
const userDataBytesMax = userDataLengthMax * 3;
/** Longest string the generic `string()` reads (command ids and the like). */
export const stringBytesMax = 1024;
/** Events one decoded list may claim, before allocating (a command carries at most ~8,190). */
export const eventsPerListMax = 65_536;

/** Byte values allowed in an id: [A-Za-z0-9._:-]. */
const idByte = new Uint8Array(256);
for (const character of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-') idByte[character.charCodeAt(0)] = 1;

export class BinaryDecodeError extends Error {
  readonly field: string;

  constructor(field: string, reason: string) {
    super(`${field} ${reason}`);
    this.name = 'BinaryDecodeError';
    this.field = field;
  }
}

/** Reads what ByteSink wrote; every read checks bounds and throws BinaryDecodeError. */
export class ByteSource {
  readonly #buffer: Buffer;
  #position = 0;

  constructor(bytes: Uint8Array) {
    this.#buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.#position === this.#buffer.length;
  }

  /** Bytes read so far. */
  get position(): number {
    return this.#position;
  }

  byte(field: string): number {
    const value = this.#buffer[this.#position];
    if (value === undefined) throw new BinaryDecodeError(field, 'runs past the end of the record');
    this.#position++;
    return value;
  }

  varint(field: string): number {
    const buffer = this.#buffer;
    let value = 0;
    let scale = 1;
    for (let count = 0; count < 8; count++) {
      const byte = buffer[this.#position++];
      if (byte === undefined) throw new BinaryDecodeError(field, 'runs past the end of the record');
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) throw new BinaryDecodeError(field, 'is beyond 2^53');
        return value;
      }
      scale *= 0x80;
    }
    throw new BinaryDecodeError(field, 'is a varint longer than 8 bytes');
  }

  integer(field: string, min: number, max: number): number {
    const value = this.varint(field);
    if (value < min || value > max) throw new BinaryDecodeError(field, `must be an integer in ${min}..${max}`);
    return value;
  }

  boolean(field: string): boolean {
    const value = this.byte(field);
    if (value > 1) throw new BinaryDecodeError(field, 'must be a boolean (0 or 1)');
    return value === 1;
  }

  present(field: string): boolean {
    return this.boolean(field);
  }

  id(field: string): string {
    const length = this.varint(field);
    if (length < 1 || length > idLengthMax) throw new BinaryDecodeError(field, 'must be 1-64 characters of [A-Za-z0-9._:-]');
    const start = this.#position;
    const end = start + length;
    const buffer = this.#buffer;
    if (end > buffer.length) throw new BinaryDecodeError(field, 'runs past the end of the record');
    for (let at = start; at < end; at++) {
      if (idByte[buffer[at]!] !== 1) throw new BinaryDecodeError(field, 'must be 1-64 characters of [A-Za-z0-9._:-]');
    }
    this.#position = end;
    return buffer.toString('latin1', start, end);
  }

  utf8(field: string, bytesMax: number): string {
    const length = this.varint(field);
    if (length > bytesMax) throw new BinaryDecodeError(field, `is longer than ${bytesMax} bytes`);
    const start = this.#position;
    const end = start + length;
    if (end > this.#buffer.length) throw new BinaryDecodeError(field, 'runs past the end of the record');
    this.#position = end;
    return this.#buffer.toString('utf8', start, end);
  }

  /** An unsigned 64-bit little-endian integer, unchecked (callers bound it). */
  u64(field: string): bigint {
    if (this.#position + 8 > this.#buffer.length) throw new BinaryDecodeError(field, 'runs past the end of the record');
    const value = this.#buffer.readBigUInt64LE(this.#position);
    this.#position += 8;
    return value;
  }

  amount(field: string): bigint {
    if (this.#position + 8 > this.#buffer.length) throw new BinaryDecodeError(field, 'runs past the end of the record');
    const value = this.#buffer.readBigUInt64LE(this.#position);
    this.#position += 8;
    if (value < 1n || value > amountMax) throw new BinaryDecodeError(field, 'must be in 1..2^63-1');
    return value;
  }
}

function writeUserData(sink: ByteSink, userData: string | undefined): void {
  if (userData === undefined) {
    sink.byte(0);
    return;
  }
  sink.byte(1);
  sink.utf8(userData);
}

function readUserData(source: ByteSource): string | undefined {
  if (!source.present('data.userData')) return undefined;
  const value = source.utf8('data.userData', userDataBytesMax);
  if (value.length > userDataLengthMax) throw new BinaryDecodeError('data.userData', `must be at most ${userDataLengthMax} characters`);
  return value;
}

export function writeEvent(sink: ByteSink, event: LedgerEvent): void {
  sink.byte(tagOfType[event.type]);
  switch (event.type) {
    case 'AccountCreated': {
      const data = event.data;
      sink.ascii(data.id);
      sink.varint(data.ledger);
      sink.varint(data.code);
      sink.byte((data.flags.debitsMustNotExceedCredits ? flagDebitsMustNotExceedCredits : 0) | (data.flags.creditsMustNotExceedDebits ? flagCreditsMustNotExceedDebits : 0));
      writeUserData(sink, data.userData);
      return;
    }
    case 'TransferCreated': {
      const data = event.data;
      sink.ascii(data.id);
      sink.ascii(data.debitAccountId);
      sink.ascii(data.creditAccountId);
      sink.u64(data.amount);
      sink.varint(data.ledger);
      sink.varint(data.code);
      writeUserData(sink, data.userData);
      sink.byte(data.pending ? 1 : 0);
      sink.varint(data.timeoutSeconds);
      if (data.timeoutAt === undefined) sink.byte(0);
      else {
        sink.byte(1);
        sink.varint(data.timeoutAt);
      }
      return;
    }
    case 'PendingTransferPosted':
    case 'PendingTransferVoided': {
      const data = event.data;
      sink.ascii(data.id);
      sink.ascii(data.pendingId);
      sink.u64(data.amount);
      sink.u64(data.pendingAmount);
      sink.ascii(data.debitAccountId);
      sink.ascii(data.creditAccountId);
      sink.varint(data.ledger);
      sink.varint(data.code);
      writeUserData(sink, data.userData);
      return;
    }
    case 'PendingTransferExpired': {
      const data = event.data;
      sink.ascii(data.pendingId);
      sink.u64(data.amount);
      sink.ascii(data.debitAccountId);
      sink.ascii(data.creditAccountId);
      sink.varint(data.ledger);
      sink.varint(data.code);
      sink.varint(data.expiredAt);
      return;
    }
    default: {
      const _exhaustive: never = event;
      throw new Error(`unknown event ${JSON.stringify(_exhaustive)}`);
    }
  }
}

export function writeEvents(sink: ByteSink, events: readonly LedgerEvent[]): void {
  sink.varint(events.length);
  for (const event of events) writeEvent(sink, event);
}

/** Builds objects with the same property order as the Decider's, so `evolve` sees one shape. */
export function readEvent(source: ByteSource): LedgerEvent {
  const type = eventTypeTags[source.byte('type')];
  switch (type) {
    case 'AccountCreated': {
      const id = source.id('data.id');
      const ledger = source.integer('data.ledger', 1, ledgerMax);
      const code = source.integer('data.code', 0, codeMax);
      const bits = source.byte('data.flags');
      if (bits > 3) throw new BinaryDecodeError('data.flags', 'has unknown bits');
      if (bits === 3) throw new BinaryDecodeError('data.flags', 'are mutually exclusive');
      const flags: AccountFlags = {
        debitsMustNotExceedCredits: (bits & flagDebitsMustNotExceedCredits) !== 0,
        creditsMustNotExceedDebits: (bits & flagCreditsMustNotExceedDebits) !== 0,
      };
      return { type, data: { id, ledger, code, flags, userData: readUserData(source) } };
    }
    case 'TransferCreated': {
      const id = source.id('data.id');
      const debitAccountId = source.id('data.debitAccountId');
      const creditAccountId = source.id('data.creditAccountId');
      const amount = source.amount('data.amount');
      const ledger = source.integer('data.ledger', 1, ledgerMax);
      const code = source.integer('data.code', 0, codeMax);
      const userData = readUserData(source);
      const pending = source.boolean('data.pending');
      const timeoutSeconds = source.integer('data.timeoutSeconds', 0, timeoutSecondsMax);
      const timeoutAt = source.present('data.timeoutAt') ? source.integer('data.timeoutAt', 0, Number.MAX_SAFE_INTEGER) : undefined;
      if (!pending && (timeoutSeconds !== 0 || timeoutAt !== undefined)) throw new BinaryDecodeError('data.timeoutSeconds', 'is for pending transfers only');
      return { type, data: { id, debitAccountId, creditAccountId, amount, ledger, code, userData, pending, timeoutSeconds, timeoutAt } };
    }
    case 'PendingTransferPosted':
    case 'PendingTransferVoided': {
      const data: PendingResolutionData = {
        id: source.id('data.id'),
        pendingId: source.id('data.pendingId'),
        amount: source.amount('data.amount'),
        pendingAmount: source.amount('data.pendingAmount'),
        debitAccountId: source.id('data.debitAccountId'),
        creditAccountId: source.id('data.creditAccountId'),
        ledger: source.integer('data.ledger', 1, ledgerMax),
        code: source.integer('data.code', 0, codeMax),
        userData: readUserData(source),
      };
      if (data.amount > data.pendingAmount) throw new BinaryDecodeError('data.amount', 'exceeds pendingAmount');
      if (type === 'PendingTransferVoided' && data.amount !== data.pendingAmount) throw new BinaryDecodeError('data.amount', 'of a void must equal pendingAmount');
      return { type, data };
    }
    case 'PendingTransferExpired':
      return {
        type,
        data: {
          pendingId: source.id('data.pendingId'),
          amount: source.amount('data.amount'),
          debitAccountId: source.id('data.debitAccountId'),
          creditAccountId: source.id('data.creditAccountId'),
          ledger: source.integer('data.ledger', 1, ledgerMax),
          code: source.integer('data.code', 0, codeMax),
          expiredAt: source.integer('data.expiredAt', 0, Number.MAX_SAFE_INTEGER),
        },
      };
    case undefined:
      throw new BinaryDecodeError('type', 'is not a ledger event type tag');
    default: {
      const _exhaustive: never = type;
      throw new Error(`unknown event type ${String(_exhaustive)}`);
    }
  }
}

export function readEvents(source: ByteSource): LedgerEvent[] {
  const count = source.integer('events', 0, eventsPerListMax);
  const events = new Array<LedgerEvent>(count);
  for (let index = 0; index < count; index++) events[index] = readEvent(source);
  return events;
}
