import { describe, expect, it } from 'vitest';
import { LogRecordWriter, readLogRecord, recordHeaderBytes } from './log-record.ts';

function decodeAll(bytes: Buffer) {
  const records = [];
  let offset = 0;
  while (offset < bytes.length) {
    const result = readLogRecord(bytes, offset);
    if (!result.ok) throw new Error(`${result.problem} at ${offset}: ${result.reason}`);
    records.push(result.record);
    offset = result.nextOffset;
  }
  return records;
}

describe('log records', () => {
  it('round-trip headers, entries and hard states, including indexes above 2^32', () => {
    const writer = new LogRecordWriter(16); // tiny on purpose: the buffer must grow
    const big = 2 ** 40 + 7;
    writer.appendSegmentHeader({ sequence: 3, replacesLog: true, firstIndex: big, hardState: { term: 9, commit: big - 1, votedFor: 'nœud-2' } });
    writer.appendEntry({ index: big, term: 9, kind: 'membership', data: new Uint8Array([1, 2, 3]) });
    writer.appendEntry({ index: big + 1, term: 2 ** 33, kind: 'noop', data: new Uint8Array(0) });
    writer.appendHardState({ term: 2 ** 33, commit: big + 1, votedFor: null });
    const records = decodeAll(Buffer.from(writer.bytes()));
    expect(records).toEqual([
      { type: 'segment_header', header: { sequence: 3, replacesLog: true, firstIndex: big, hardState: { term: 9, commit: big - 1, votedFor: 'nœud-2' } } },
      { type: 'entry', entry: { index: big, term: 9, kind: 'membership', data: new Uint8Array([1, 2, 3]) } },
      { type: 'entry', entry: { index: big + 1, term: 2 ** 33, kind: 'noop', data: new Uint8Array(0) } },
      { type: 'hard_state', hardState: { term: 2 ** 33, commit: big + 1, votedFor: null } },
    ]);
  });

  it('reuses its buffer: clear() starts over', () => {
    const writer = new LogRecordWriter();
    writer.appendEntry({ index: 1, term: 1, kind: 'normal', data: new Uint8Array(10) });
    const first = writer.length;
    writer.clear();
    expect(writer.length).toBe(0);
    writer.appendEntry({ index: 2, term: 1, kind: 'normal', data: new Uint8Array(10) });
    expect(writer.length).toBe(first);
    expect(first).toBe(recordHeaderBytes + 17 + 10);
  });

  it('reports a cut record as torn and a changed byte as a checksum mismatch or invalid', () => {
    const writer = new LogRecordWriter();
    writer.appendEntry({ index: 1, term: 1, kind: 'normal', data: new TextEncoder().encode('payload') });
    const bytes = Buffer.from(writer.bytes());
    expect(readLogRecord(bytes.subarray(0, 5), 0)).toMatchObject({ ok: false, problem: 'torn' });
    expect(readLogRecord(bytes.subarray(0, bytes.length - 1), 0)).toMatchObject({ ok: false, problem: 'torn' });
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 2] = flipped[bytes.length - 2]! ^ 1;
    expect(readLogRecord(flipped, 0)).toMatchObject({ ok: false, problem: 'checksum_mismatch' });
    const badType = Buffer.from(bytes);
    badType[8] = 77;
    expect(readLogRecord(badType, 0)).toMatchObject({ ok: false, problem: 'invalid_record' });
  });
});
