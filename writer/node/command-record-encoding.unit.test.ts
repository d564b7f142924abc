import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../ledger/index.ts';
import { accountCreated, transferCreated } from '../ledger/given-when-then.ts';
import { CommandRecordDecodeError, decodeNodeRecord, encodeCommandRecord, encodePublishedWatermarkRecord } from './command-record.ts';

const events = [accountCreated('alice'), transferCreated('t-1', 'alice', 'bob', 1250n, { userData: 'rent' })];

describe('command record encoding', () => {
  it('writes the binary form and reads it back', () => {
    const bytes = encodeCommandRecord({ commandId: 'c-1', occurredAt: 1_700_000_000_000, events });
    expect(bytes[0]).toBe(0x02);
    expect(decodeNodeRecord(bytes)).toEqual({ kind: 'command', commandId: 'c-1', occurredAt: 1_700_000_000_000, events });
    expect(encodePublishedWatermarkRecord({ seq: 2 ** 40 })[0]).toBe(0x03);
    expect(decodeNodeRecord(encodePublishedWatermarkRecord({ seq: 2 ** 40 }))).toEqual({ kind: 'published', seq: 2 ** 40 });
  });

  it('still reads records written in the original JSON form (logs of earlier versions replay unchanged)', () => {
    const json = new TextEncoder().encode(JSON.stringify({ v: 1, commandId: 'c-1', occurredAt: 5, events: events.map(encodeEvent) }));
    expect(decodeNodeRecord(json)).toEqual({ kind: 'command', commandId: 'c-1', occurredAt: 5, events });
    expect(decodeNodeRecord(new TextEncoder().encode('{"v":1,"kind":"published","seq":7}'))).toEqual({ kind: 'published', seq: 7 });
  });

  it('refuses an unknown tag, trailing bytes and a truncated record', () => {
    const bytes = encodeCommandRecord({ commandId: 'c-1', occurredAt: 5, events });
    expect(() => decodeNodeRecord(new Uint8Array([0x09, 0]))).toThrow(/unknown record tag 9/);
    expect(() => decodeNodeRecord(new Uint8Array([...bytes, 0]))).toThrow(/trailing bytes/);
    expect(() => decodeNodeRecord(bytes.subarray(0, bytes.length - 3))).toThrow(CommandRecordDecodeError);
    expect(() => decodeNodeRecord(new Uint8Array(0))).toThrow(/unknown record tag undefined/);
  });
});

describe('decoding what this process encoded', () => {
  it('hands the encoded record to the first decode of the same bytes, then decodes them like any others', () => {
    const record = { commandId: 'c-1', occurredAt: 5, events };
    const bytes = encodeCommandRecord(record);
    const first = decodeNodeRecord(bytes);
    expect(first.kind === 'command' && first.events).toBe(events);
    const second = decodeNodeRecord(bytes);
    expect(second.kind === 'command' && second.events).not.toBe(events);
    expect(second).toEqual({ kind: 'command', ...record });
    // A copy of the bytes (as a follower receives them) is decoded from its contents.
    const copied = decodeNodeRecord(encodeCommandRecord(record).slice());
    expect(copied.kind === 'command' && copied.events).not.toBe(events);
    expect(copied).toEqual(first);
  });
});
