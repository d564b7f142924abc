import type { AccountFlags } from './account.ts';
import type { LedgerEvent, PendingResolutionData } from './events.ts';
import { amountMax, codeMax, idPattern, ledgerMax, timeoutSecondsMax, userDataLengthMax } from './limits.ts';

/**
 * JSON form of a ledger event: `{ type, data }` with amounts as decimal strings and absent
 * optional values as `null`. This `data` is the Kafka envelope's `data` (DESIGN.md §5) and the
 * form events take in the Raft log.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface EncodedLedgerEvent {
  readonly type: LedgerEvent['type'];
  readonly data: { readonly [key: string]: JsonValue };
}

/** Thrown by `decodeEvent` for input that is not a valid event; `field` names the culprit. */
export class EventDecodeError extends Error {
  readonly code = 'invalid_event';
  readonly field: string;

  constructor(field: string, message: string) {
    super(`invalid event: ${field} ${message}`);
    this.name = 'EventDecodeError';
    this.field = field;
  }
}

export function encodeEvent(event: LedgerEvent): EncodedLedgerEvent {
  switch (event.type) {
    case 'AccountCreated': {
      const data = event.data;
      return {
        type: event.type,
        data: {
          id: data.id,
          ledger: data.ledger,
          code: data.code,
          flags: {
            debitsMustNotExceedCredits: data.flags.debitsMustNotExceedCredits,
            creditsMustNotExceedDebits: data.flags.creditsMustNotExceedDebits,
          },
          userData: data.userData ?? null,
        },
      };
    }
    case 'TransferCreated': {
      const data = event.data;
      return {
        type: event.type,
        data: {
          id: data.id,
          debitAccountId: data.debitAccountId,
          creditAccountId: data.creditAccountId,
          amount: data.amount.toString(),
          ledger: data.ledger,
          code: data.code,
          userData: data.userData ?? null,
          pending: data.pending,
          timeoutSeconds: data.timeoutSeconds,
          timeoutAt: data.timeoutAt ?? null,
        },
      };
    }
    case 'PendingTransferPosted':
    case 'PendingTransferVoided':
      return { type: event.type, data: encodeResolution(event.data) };
    case 'PendingTransferExpired': {
      const data = event.data;
      return {
        type: event.type,
        data: {
          pendingId: data.pendingId,
          amount: data.amount.toString(),
          debitAccountId: data.debitAccountId,
          creditAccountId: data.creditAccountId,
          ledger: data.ledger,
          code: data.code,
          expiredAt: data.expiredAt,
        },
      };
    }
    default: {
      const _exhaustive: never = event;
      throw new Error(`unknown event ${JSON.stringify(_exhaustive)}`);
    }
  }
}

function encodeResolution(data: PendingResolutionData): { [key: string]: JsonValue } {
  return {
    id: data.id,
    pendingId: data.pendingId,
    amount: data.amount.toString(),
    pendingAmount: data.pendingAmount.toString(),
    debitAccountId: data.debitAccountId,
    creditAccountId: data.creditAccountId,
    ledger: data.ledger,
    code: data.code,
    userData: data.userData ?? null,
  };
}

/**
 * Validates and decodes `{ type, data }`: parsed JSON, or JSON text (a string is parsed first).
 * Throws EventDecodeError naming the offending field.
 */
export function decodeEvent(json: unknown): LedgerEvent {
  let parsed = json;
  if (typeof json === 'string') {
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      throw new EventDecodeError('(root)', `is not JSON (${(error as Error).message})`);
    }
  }
  const root = new FieldReader(parsed, '');
  const type = root.string('type');
  const data = root.object('data');
  switch (type) {
    case 'AccountCreated': {
      const flagsReader = data.object('flags');
      const flags: AccountFlags = {
        debitsMustNotExceedCredits: flagsReader.boolean('debitsMustNotExceedCredits'),
        creditsMustNotExceedDebits: flagsReader.boolean('creditsMustNotExceedDebits'),
      };
      if (flags.debitsMustNotExceedCredits && flags.creditsMustNotExceedDebits) {
        throw new EventDecodeError('data.flags', 'are mutually exclusive');
      }
      return {
        type,
        data: { id: data.id('id'), ledger: data.ledger('ledger'), code: data.code('code'), flags, userData: data.userData('userData') },
      };
    }
    case 'TransferCreated': {
      const pending = data.boolean('pending');
      const timeoutSeconds = data.integer('timeoutSeconds', 0, timeoutSecondsMax);
      const timeoutAt = data.optionalInteger('timeoutAt', 0, Number.MAX_SAFE_INTEGER);
      if (!pending && (timeoutSeconds !== 0 || timeoutAt !== undefined)) throw new EventDecodeError('data.timeoutSeconds', 'is for pending transfers only');
      return {
        type,
        data: {
          id: data.id('id'),
          debitAccountId: data.id('debitAccountId'),
          creditAccountId: data.id('creditAccountId'),
          amount: data.amount('amount'),
          ledger: data.ledger('ledger'),
          code: data.code('code'),
          userData: data.userData('userData'),
          pending,
          timeoutSeconds,
          timeoutAt,
        },
      };
    }
    case 'PendingTransferPosted':
    case 'PendingTransferVoided': {
      const resolution: PendingResolutionData = {
        id: data.id('id'),
        pendingId: data.id('pendingId'),
        amount: data.amount('amount'),
        pendingAmount: data.amount('pendingAmount'),
        debitAccountId: data.id('debitAccountId'),
        creditAccountId: data.id('creditAccountId'),
        ledger: data.ledger('ledger'),
        code: data.code('code'),
        userData: data.userData('userData'),
      };
      if (resolution.amount > resolution.pendingAmount) throw new EventDecodeError('data.amount', 'exceeds pendingAmount');
      if (type === 'PendingTransferVoided' && resolution.amount !== resolution.pendingAmount) {
        throw new EventDecodeError('data.amount', 'of a void must equal pendingAmount');
      }
      return { type, data: resolution };
    }
    case 'PendingTransferExpired':
      return {
        type,
        data: {
          pendingId: data.id('pendingId'),
          amount: data.amount('amount'),
          debitAccountId: data.id('debitAccountId'),
          creditAccountId: data.id('creditAccountId'),
          ledger: data.ledger('ledger'),
          code: data.code('code'),
          expiredAt: data.integer('expiredAt', 0, Number.MAX_SAFE_INTEGER),
        },
      };
    default:
      throw new EventDecodeError('type', `is not a ledger event type: ${JSON.stringify(type)}`);
  }
}

/** Reads typed fields out of an untyped JSON object, naming the path in errors. */
class FieldReader {
  readonly #value: Record<string, unknown>;
  readonly #path: string;

  constructor(value: unknown, path: string) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new EventDecodeError(path === '' ? '(root)' : path, 'must be an object');
    }
    this.#value = value as Record<string, unknown>;
    this.#path = path;
  }

  #name(key: string): string {
    return this.#path === '' ? key : `${this.#path}.${key}`;
  }

  object(key: string): FieldReader {
    return new FieldReader(this.#value[key], this.#name(key));
  }

  string(key: string): string {
    const value = this.#value[key];
    if (typeof value !== 'string') throw new EventDecodeError(this.#name(key), 'must be a string');
    return value;
  }

  boolean(key: string): boolean {
    const value = this.#value[key];
    if (typeof value !== 'boolean') throw new EventDecodeError(this.#name(key), 'must be a boolean');
    return value;
  }

  id(key: string): string {
    const value = this.string(key);
    if (!idPattern.test(value)) throw new EventDecodeError(this.#name(key), 'must be 1-64 characters of [A-Za-z0-9._:-]');
    return value;
  }

  integer(key: string, min: number, max: number): number {
    const value = this.#value[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new EventDecodeError(this.#name(key), `must be an integer in ${min}..${max}`);
    }
    return value;
  }

  optionalInteger(key: string, min: number, max: number): number | undefined {
    return this.#value[key] === null || this.#value[key] === undefined ? undefined : this.integer(key, min, max);
  }

  ledger(key: string): number {
    return this.integer(key, 1, ledgerMax);
  }

  code(key: string): number {
    return this.integer(key, 0, codeMax);
  }

  amount(key: string): bigint {
    const value = this.#value[key];
    if (typeof value !== 'string' || !/^[1-9][0-9]{0,18}$/.test(value)) {
      throw new EventDecodeError(this.#name(key), 'must be a decimal string in 1..2^63-1');
    }
    const amount = BigInt(value);
    if (amount > amountMax) throw new EventDecodeError(this.#name(key), 'must be a decimal string in 1..2^63-1');
    return amount;
  }

  userData(key: string): string | undefined {
    const value = this.#value[key];
    if (value === null || value === undefined) return undefined;
    if (typeof value !== 'string' || value.length > userDataLengthMax) {
      throw new EventDecodeError(this.#name(key), `must be null or a string of at most ${userDataLengthMax} characters`);
    }
    return value;
  }
}
