import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../writer/ledger/index.ts';
import { decodeEnvelope, encodeEnvelopeMessage, type EnvelopeInput } from './envelope.ts';

const event: LedgerEvent = {
  type: 'PendingTransferPosted',
  data: { id: 't-3', pendingId: 't-2', amount: 400n, pendingAmount: 9223372036854775807n, debitAccountId: 'alice', creditAccountId: 'bob', ledger: 1, code: 7, userData: undefined },
};
const input: EnvelopeInput = { shard: 2, seq: 41, raftIndex: 1_000, raftTerm: 3, commandId: 'req-9', eventIndex: 4, occurredAtMs: Date.UTC(2026, 10, 22, 10, 0, 0, 7), event };

function valueOf(overrides: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify({ ...JSON.parse(encodeEnvelopeMessage(input).value), ...overrides }));
}

describe('event envelope', () => {
  it('encodes the Kafka contract: key and partition = shard, headers seq and type, amounts as decimal strings', () => {
    const message = encodeEnvelopeMessage(input);
    expect(message.key).toBe('2');
    expect(message.partition).toBe(2);
    expect(message.headers).toEqual({ seq: '41', type: 'PendingTransferPosted' });
    expect(JSON.parse(message.value)).toEqual({
      v: 1, shard: 2, seq: 41, raftIndex: 1_000, raftTerm: 3, eventId: 'req-9:4', type: 'PendingTransferPosted',
      occurredAt: '2026-11-22T10:00:00.007Z', commandId: 'req-9',
      data: { id: 't-3', pendingId: 't-2', amount: '400', pendingAmount: '9223372036854775807', debitAccountId: 'alice', creditAccountId: 'bob', ledger: 1, code: 7, userData: null },
    });
  });

  it('decodes what it encodes, with the typed event', () => {
    const message = encodeEnvelopeMessage(input);
    const decoded = decodeEnvelope({ value: Buffer.from(message.value), headers: { seq: Buffer.from('41'), type: Buffer.from('PendingTransferPosted') } });
    expect(decoded).toEqual({ ok: true, envelope: { v: 1, shard: 2, seq: 41, raftIndex: 1_000, raftTerm: 3, eventId: 'req-9:4', type: 'PendingTransferPosted', occurredAt: '2026-11-22T10:00:00.007Z', commandId: 'req-9', event } });
  });

  it('names the field, shard and seq of a bad envelope', () => {
    expect(decodeEnvelope({ value: null })).toEqual({ ok: false, error: { code: 'invalid_envelope', field: 'value', reason: 'is empty (tombstone)', shard: undefined, seq: undefined } });
    expect(decodeEnvelope({ value: 'not json' })).toMatchObject({ ok: false, error: { code: 'invalid_envelope', field: 'value' } });
    expect(decodeEnvelope({ value: valueOf({ seq: 0 }) })).toMatchObject({ ok: false, error: { field: 'seq', shard: 2, seq: undefined } });
    expect(decodeEnvelope({ value: valueOf({ v: 2 }) })).toMatchObject({ ok: false, error: { code: 'unsupported_envelope_version', field: 'v', shard: 2, seq: 41 } });
    expect(decodeEnvelope({ value: valueOf({ occurredAt: '2026-11-22T10:00:00Z' }) })).toMatchObject({ ok: false, error: { field: 'occurredAt', seq: 41 } });
    for (const eventId of ['other:4', 'req-9:', 'req-9', 'req-9x4', 'req-9:4a', 'req-9:-1', 'req-9::4', 'req-']) {
      expect(decodeEnvelope({ value: valueOf({ eventId }) }), eventId).toMatchObject({ ok: false, error: { field: 'eventId', seq: 41 } });
    }
    expect(decodeEnvelope({ value: valueOf({ eventId: 'req-9:1234567' }) })).toMatchObject({ ok: true });
    expect(decodeEnvelope({ value: valueOf({ type: 'AccountDeleted' }) })).toEqual({ ok: false, error: { code: 'invalid_event', field: 'type', reason: 'is not a ledger event type: "AccountDeleted"', shard: 2, seq: 41 } });
    expect(decodeEnvelope({ value: valueOf({ data: { ...JSON.parse(encodeEnvelopeMessage(input).value).data, amount: '1.5' } }) })).toEqual({
      ok: false, error: { code: 'invalid_event', field: 'data.amount', reason: 'must be a decimal string in 1..2^63-1', shard: 2, seq: 41 },
    });
    expect(decodeEnvelope({ value: valueOf({}), headers: { seq: '42' } })).toMatchObject({ ok: false, error: { field: 'headers.seq' } });
  });
});
