import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, EventDecodeError } from './event-codec.ts';
import type { LedgerEvent } from './events.ts';
import { accountCreated, pendingExpired, pendingPosted, pendingVoided, stateOf, testNow, transferCreated } from './given-when-then.ts';
import { decodeSnapshot, encodeSnapshot, SnapshotDecodeError } from './snapshot.ts';
import { stateDigest } from './state-digest.ts';
import { checkInvariants } from './invariants.ts';
import { nextExpiryDue } from './expiry-query.ts';

const reserve = transferCreated('p-1', 'alice', 'bob', 9_223_372_036_854_775_807n, { pending: true, timeoutSeconds: 30 });
const other = transferCreated('p-2', 'bob', 'alice', 7n, { pending: true, timeoutSeconds: 60 });
const events: LedgerEvent[] = [
  accountCreated('alice', { userData: 'a' }),
  accountCreated('bob', { creditsMustNotExceedDebits: false, debitsMustNotExceedCredits: false }),
  accountCreated('carol', { ledger: 7, code: 0, debitsMustNotExceedCredits: true }),
  transferCreated('t-1', 'bob', 'alice', 12n, { userData: 'x' }),
  reserve,
  other,
  { type: 'PendingTransferPosted', data: { ...(pendingPosted('t-2', other, 5n).data as object), userData: 'post' } } as LedgerEvent,
  pendingVoided('t-3', reserve),
];

describe('event codec', () => {
  it('round-trips every event type through JSON text, amounts as decimal strings', () => {
    const all = [...events, pendingExpired(transferCreated('p-9', 'alice', 'bob', 3n, { pending: true, timeoutSeconds: 1 }), testNow + 1000)];
    for (const event of all) {
      const text = JSON.stringify(encodeEvent(event));
      expect(decodeEvent(JSON.parse(text))).toEqual(event);
      expect(decodeEvent(text)).toEqual(event);
    }
    expect(encodeEvent(reserve)).toEqual({
      type: 'TransferCreated',
      data: {
        id: 'p-1', debitAccountId: 'alice', creditAccountId: 'bob', amount: '9223372036854775807', ledger: 1, code: 1,
        userData: null, pending: true, timeoutSeconds: 30, timeoutAt: testNow + 30_000,
      },
    });
  });

  it.each([
    ['(root)', 'not JSON'],
    ['(root)', 42],
    ['type', { type: 'Nope', data: {} }],
    ['data', { type: 'AccountCreated' }],
    ['data.amount', { ...encodeEvent(reserve), data: { ...encodeEvent(reserve).data, amount: 12 } }],
    ['data.amount', { ...encodeEvent(reserve), data: { ...encodeEvent(reserve).data, amount: '9223372036854775808' } }],
    ['data.amount', { ...encodeEvent(reserve), data: { ...encodeEvent(reserve).data, amount: '0' } }],
    ['data.amount', { ...encodeEvent(reserve), data: { ...encodeEvent(reserve).data, amount: '1.5' } }],
    ['data.debitAccountId', { ...encodeEvent(reserve), data: { ...encodeEvent(reserve).data, debitAccountId: 'bad id' } }],
    ['data.ledger', { ...encodeEvent(reserve), data: { ...encodeEvent(reserve).data, ledger: 0 } }],
    ['data.flags', { type: 'AccountCreated', data: { id: 'a', ledger: 1, code: 1, flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: true }, userData: null } }],
    ['data.amount', { ...encodeEvent(pendingVoided('t-3', reserve)), data: { ...encodeEvent(pendingVoided('t-3', reserve)).data, amount: '1' } }],
  ])('refuses a bad event naming the field %s', (field, json) => {
    let caught: unknown;
    try {
      decodeEvent(json);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EventDecodeError);
    expect((caught as EventDecodeError).field).toBe(field);
    expect((caught as EventDecodeError).code).toBe('invalid_event');
  });
});

describe('snapshot and digest', () => {
  it('decodes to a state with the same digest, seq, counters and expiry index', () => {
    const state = stateOf(events);
    const restored = decodeSnapshot(encodeSnapshot(state));
    expect(stateDigest(restored)).toBe(stateDigest(state));
    expect(restored.lastSeq).toBe(events.length);
    expect(restored.account('alice')).toEqual(state.account('alice'));
    expect(restored.transfer('p-2')).toEqual(state.transfer('p-2'));
    expect(nextExpiryDue(restored)).toBe(nextExpiryDue(state));
    expect(checkInvariants(restored)).toEqual([]);
  });

  it('the digest does not depend on insertion order, and changes with any change', () => {
    const forward = stateOf([accountCreated('a'), accountCreated('b')]);
    const backward = stateOf([accountCreated('b'), accountCreated('a')]);
    expect(stateDigest(forward)).toBe(stateDigest(backward));
    expect(stateDigest(forward)).toMatch(/^[0-9a-f]{64}$/);
    expect(stateDigest(stateOf([accountCreated('a'), accountCreated('b', { code: 11 })]))).not.toBe(stateDigest(forward));
    expect(stateDigest(stateOf([accountCreated('a')]))).not.toBe(stateDigest(stateOf([accountCreated('a'), accountCreated('b')])));
  });

  it('refuses what is not a snapshot', () => {
    const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
    expect(() => decodeSnapshot(new Uint8Array([0xff, 0xfe]))).toThrow(SnapshotDecodeError);
    expect(() => decodeSnapshot(encode({ v: 2, lastSeq: 0, accounts: [], transfers: [] }))).toThrow(/version/);
    expect(() => decodeSnapshot(encode({ v: 1, lastSeq: -1, accounts: [], transfers: [] }))).toThrow(/lastSeq/);
    expect(() => decodeSnapshot(encode({ v: 1, lastSeq: 0, accounts: [['a']], transfers: [] }))).toThrow(/account row/);
    const row = ['a', 1, 1, false, false, null, '0', '0', '0', '0'];
    expect(() => decodeSnapshot(encode({ v: 1, lastSeq: 0, accounts: [row, row], transfers: [] }))).toThrow(/duplicate/);
  });
});
