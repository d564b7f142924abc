import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteSink } from '../../common/binary/byte-sink.ts';
import { BinaryDecodeError, ByteSource, readEvents, writeEvents } from './binary-event-codec.ts';
import { decodeEvent, encodeEvent } from './event-codec.ts';
import type { LedgerEvent, PendingResolutionData } from './events.ts';
import { accountCreated, pendingExpired, pendingPosted, pendingVoided, testNow, transferCreated } from './given-when-then.ts';
import { amountMax, codeMax, ledgerMax, timeoutSecondsMax, userDataLengthMax } from './limits.ts';

function encode(events: readonly LedgerEvent[]): Uint8Array {
  const sink = new ByteSink(16);
  writeEvents(sink, events);
  return sink.finish();
}

function decode(bytes: Uint8Array): LedgerEvent[] {
  const source = new ByteSource(bytes);
  const events = readEvents(source);
  expect(source.done).toBe(true);
  return events;
}

function decodeError(bytes: Uint8Array): BinaryDecodeError {
  try {
    readEvents(new ByteSource(bytes));
  } catch (error) {
    if (error instanceof BinaryDecodeError) return error;
    throw error;
  }
  throw new Error('decoded without an error');
}

const idCharacters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-'.split('');
const id = fc.array(fc.constantFrom(...idCharacters), { minLength: 1, maxLength: 64 }).map((characters) => characters.join(''));
const amount = fc.bigInt({ min: 1n, max: amountMax });
const ledger = fc.integer({ min: 1, max: ledgerMax });
const code = fc.integer({ min: 0, max: codeMax });
const userData = fc.option(fc.string({ maxLength: userDataLengthMax, unit: 'grapheme' }).filter((value) => value.length <= userDataLengthMax), { nil: undefined });
const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

const event: fc.Arbitrary<LedgerEvent> = fc.oneof(
  fc.record({ id, ledger, code, flag: fc.constantFrom(0, 1, 2), userData }).map(({ flag, ...data }): LedgerEvent => ({
    type: 'AccountCreated',
    data: { id: data.id, ledger: data.ledger, code: data.code, flags: { debitsMustNotExceedCredits: flag === 1, creditsMustNotExceedDebits: flag === 2 }, userData: data.userData },
  })),
  fc.record({ id, debitAccountId: id, creditAccountId: id, amount, ledger, code, userData, pending: fc.boolean(), timeoutSeconds: fc.integer({ min: 0, max: timeoutSecondsMax }), timeoutAt: fc.option(time, { nil: undefined }) })
    .map((data): LedgerEvent => ({
      type: 'TransferCreated',
      data: { ...data, timeoutSeconds: data.pending ? data.timeoutSeconds : 0, timeoutAt: data.pending ? data.timeoutAt : undefined },
    })),
  fc.record({ id, pendingId: id, amount, extra: fc.bigInt({ min: 0n, max: 1000n }), debitAccountId: id, creditAccountId: id, ledger, code, userData, posted: fc.boolean() })
    .filter(({ amount: posted, extra }) => posted + extra <= amountMax)
    .map(({ extra, posted, ...data }): LedgerEvent => {
      const resolution = {
        id: data.id, pendingId: data.pendingId, amount: data.amount, pendingAmount: posted ? data.amount + extra : data.amount,
        debitAccountId: data.debitAccountId, creditAccountId: data.creditAccountId, ledger: data.ledger, code: data.code, userData: data.userData,
      };
      return posted ? { type: 'PendingTransferPosted', data: resolution } : { type: 'PendingTransferVoided', data: resolution };
    }),
  fc.record({ pendingId: id, amount, debitAccountId: id, creditAccountId: id, ledger, code, expiredAt: time })
    .map((data): LedgerEvent => ({ type: 'PendingTransferExpired', data })),
);

describe('binary event codec', () => {
  it('round-trips every event the JSON codec accepts, to the same values', () => {
    fc.assert(fc.property(fc.array(event, { maxLength: 20 }), (events) => {
      // The generator makes only events the Kafka (JSON) decoder accepts as valid …
      for (const generated of events) expect(decodeEvent(JSON.parse(JSON.stringify(encodeEvent(generated))))).toEqual(generated);
      // … and the binary form gives them back exactly.
      expect(decode(encode(events))).toEqual(events);
    }), { numRuns: 300 });
  });

  it('round-trips the Decider helpers\' events, extremes included', () => {
    const reserve = transferCreated('p-1', 'alice', 'bob', amountMax, { pending: true, timeoutSeconds: 30, userData: 'é€😀' });
    const events: LedgerEvent[] = [
      accountCreated('alice', { userData: 'a', debitsMustNotExceedCredits: true }),
      accountCreated('bob', { creditsMustNotExceedDebits: true, ledger: ledgerMax, code: codeMax }),
      reserve,
      pendingPosted('t-2', reserve, 1n),
      pendingVoided('t-3', reserve),
      pendingExpired(reserve, testNow + 30_000),
    ];
    expect(decode(encode(events))).toEqual(events);
  });

  it('is several times smaller than the JSON form of a single-phase transfer', () => {
    const transfer = transferCreated('transfer-000001', 'account-1234', 'account-5678', 1250n);
    const binary = encode([transfer]).length;
    const json = JSON.stringify(encodeEvent(transfer)).length;
    expect(binary).toBeLessThan(json / 2);
  });

  const transfer = encode([transferCreated('t-1', 'alice', 'bob', 5n)]);
  // Offsets in `transfer`: [0] count, [1] tag, [2] id length, [3] 't', …
  const patched = (offset: number, value: number): Uint8Array => {
    const copy = transfer.slice();
    copy[offset] = value;
    return copy;
  };

  it.each([
    ['type', () => patched(1, 9)],
    ['data.id', () => patched(2, 0)],
    ['data.id', () => patched(2, 65)],
    ['data.id', () => patched(3, 0x20)],
    ['data.amount', () => {
      const copy = transfer.slice();
      copy.fill(0, 2 + 4 + 6 + 4, 2 + 4 + 6 + 4 + 8); // 't-1', 'alice', 'bob' → the 8 amount bytes
      return copy;
    }],
    ['data.userData', () => transfer.slice(0, transfer.length - 4)], // cut after ledger and code
    ['events', () => new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x01])],
  ])('refuses a damaged record naming %s', (field, bytes) => {
    expect(decodeError(bytes()).field).toBe(field);
  });

  it('refuses a non-pending transfer with a timeout and a void of a different amount', () => {
    const bad = encode([{ type: 'TransferCreated', data: { ...transferCreated('t-1', 'a', 'b', 5n).data as object, timeoutSeconds: 5 } } as LedgerEvent]);
    expect(decodeError(bad).field).toBe('data.timeoutSeconds');
    const reserve = transferCreated('p-1', 'a', 'b', 10n, { pending: true });
    const voided = pendingVoided('v-1', reserve);
    const badVoid = encode([{ type: 'PendingTransferVoided', data: { ...(voided.data as PendingResolutionData), amount: 3n } }]);
    expect(decodeError(badVoid).field).toBe('data.amount');
  });
});
