import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from './entry.ts';
import type { Message } from './message.ts';
import { decodeMessage, encodeMessage } from './message-codec.ts';

const index = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const id = fc.string({ minLength: 1, maxLength: 12 });
const data = fc.uint8Array({ maxLength: 64 });
const entry: fc.Arbitrary<Entry> = fc.record({ index, term: index, kind: fc.constantFrom('normal' as const, 'noop' as const, 'membership' as const), data });
const membership = fc.record({ voters: fc.array(id, { maxLength: 5 }), learners: fc.array(id, { maxLength: 3 }) });
const envelope = { from: id, to: id, term: index };

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('pre_vote_request' as const), ...envelope, lastLogIndex: index, lastLogTerm: index }),
  fc.record({ type: fc.constant('vote_request' as const), ...envelope, lastLogIndex: index, lastLogTerm: index, leadershipTransfer: fc.boolean() }),
  fc.record({ type: fc.constantFrom('pre_vote_response' as const, 'vote_response' as const), ...envelope, granted: fc.boolean() }),
  fc.record({ type: fc.constant('append_entries' as const), ...envelope, prevLogIndex: index, prevLogTerm: index, entries: fc.array(entry, { maxLength: 8 }), commit: index }),
  fc.record({
    type: fc.constant('append_response' as const), ...envelope, success: fc.boolean(), matchIndex: index,
    rejectedIndex: index, conflictTerm: index, conflictIndex: index,
  }),
  fc.record({ type: fc.constant('heartbeat' as const), ...envelope, commit: index }),
  fc.record({ type: fc.constant('heartbeat_response' as const), ...envelope, commit: index }),
  fc.record({
    type: fc.constant('install_snapshot' as const), ...envelope,
    metadata: fc.record({ index, term: index, membership }), offset: index, chunk: data, done: fc.boolean(),
  }),
  fc.record({ type: fc.constant('install_snapshot_response' as const), ...envelope, snapshotIndex: index, nextOffset: index, done: fc.boolean() }),
  fc.record({ type: fc.constant('timeout_now' as const), ...envelope }),
);

describe('message codec', () => {
  it('decode(encode(m)) equals m for every message type', () => {
    fc.assert(
      fc.property(message, (original) => {
        const decoded = decodeMessage(encodeMessage(original));
        expect(decoded).toEqual({ ok: true, message: original });
      }),
      { numRuns: 500 },
    );
  });

  it('embeds entry payloads as-is: the encoding grows by the payload size', () => {
    const base: Message = { type: 'append_entries', from: 'a', to: 'b', term: 3, prevLogIndex: 1, prevLogTerm: 1, commit: 1, entries: [] };
    const withEntry: Message = { ...base, entries: [{ index: 2, term: 3, kind: 'normal', data: new Uint8Array(1000).fill(7) }] };
    const growth = encodeMessage(withEntry).length - encodeMessage(base).length;
    expect(growth).toBeGreaterThanOrEqual(1000);
    expect(growth).toBeLessThanOrEqual(1000 + 8);
  });

  it('rejects truncated, trailing and unknown-type input with malformed_message', () => {
    const encoded = encodeMessage({ type: 'heartbeat', from: 'a', to: 'b', term: 300, commit: 70_000 });
    const truncated = decodeMessage(encoded.subarray(0, encoded.length - 1));
    expect(truncated).toEqual({ ok: false, error: { code: 'malformed_message', reason: 'unexpected end of message' } });
    const trailing = new Uint8Array([...encoded, 0]);
    expect(decodeMessage(trailing)).toEqual({ ok: false, error: { code: 'malformed_message', reason: 'trailing bytes' } });
    expect(decodeMessage(new Uint8Array([200]))).toEqual({ ok: false, error: { code: 'malformed_message', reason: 'unknown message type' } });
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        const result = decodeMessage(input);
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });
});
