import { describe, expect, it } from 'vitest';
import { CommandRecordDecodeError, decodeNodeRecord, encodeCommandRecord, encodePublishedWatermarkRecord, recordEvents } from './command-record.ts';

const encoder = new TextEncoder();

describe('node records', () => {
  it('a published-watermark record round-trips and carries no ledger events', () => {
    const record = decodeNodeRecord(encodePublishedWatermarkRecord({ seq: 12_345 }));
    expect(record).toEqual({ kind: 'published', seq: 12_345 });
    expect(recordEvents(record)).toEqual([]);
  });

  it('a command record decodes as kind command with its events', () => {
    const record = decodeNodeRecord(encodeCommandRecord({ commandId: 'c-1', occurredAt: 1_700_000_000_000, events: [] }));
    expect(record).toEqual({ kind: 'command', commandId: 'c-1', occurredAt: 1_700_000_000_000, events: [] });
  });

  it('refuses an unknown kind and a watermark without a valid seq', () => {
    expect(() => decodeNodeRecord(encoder.encode(JSON.stringify({ v: 1, kind: 'mystery' })))).toThrow(/unknown record kind "mystery"/);
    expect(() => decodeNodeRecord(encoder.encode(JSON.stringify({ v: 1, kind: 'published', seq: -1 })))).toThrow(CommandRecordDecodeError);
    expect(() => decodeNodeRecord(encoder.encode(JSON.stringify({ v: 1, kind: 'published', seq: 1.5 })))).toThrow(/published seq/);
    expect(() => encodePublishedWatermarkRecord({ seq: -1 })).toThrow(RangeError);
  });
});
