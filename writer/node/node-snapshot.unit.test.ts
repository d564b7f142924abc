import { describe, expect, it } from 'vitest';
import { decodeNodeSnapshot, encodeNodeSnapshot, isNodeSnapshot, NodeSnapshotDecodeError } from './node-snapshot.ts';
import { SeqIndex, seqIndexEntriesMax } from './seq-index.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('node snapshot envelope', () => {
  it('round-trips the ledger bytes, the watermark and the unpublished records', () => {
    const snapshot = {
      ledger: bytes('{"ledger":true}'), publishedSeq: 7, floorIndex: 10, floorSeq: 7,
      records: [{ index: 12, term: 3, data: bytes('{"a":1}') }, { index: 15, term: 4, data: bytes('{"b":22}') }],
    };
    const encoded = encodeNodeSnapshot(snapshot);
    expect(isNodeSnapshot(encoded)).toBe(true);
    expect(isNodeSnapshot(bytes('{"v":1}'))).toBe(false);
    const decoded = decodeNodeSnapshot(encoded);
    expect({ ...decoded, ledger: Buffer.from(decoded.ledger).toString(), records: decoded.records.map((record) => ({ ...record, data: Buffer.from(record.data).toString() })) })
      .toEqual({ ...snapshot, ledger: '{"ledger":true}', records: [{ index: 12, term: 3, data: '{"a":1}' }, { index: 15, term: 4, data: '{"b":22}' }] });
  });

  it('refuses records at or below the floor, out of order, or overrunning the bytes', () => {
    expect(() => encodeNodeSnapshot({ ledger: bytes('x'), publishedSeq: 0, floorIndex: 5, floorSeq: 0, records: [{ index: 5, term: 1, data: bytes('r') }] })).toThrow(/above the floor/);
    const encoded = encodeNodeSnapshot({ ledger: bytes('x'), publishedSeq: 0, floorIndex: 0, floorSeq: 0, records: [{ index: 1, term: 1, data: bytes('r') }] });
    expect(() => decodeNodeSnapshot(encoded.subarray(0, encoded.length - 3))).toThrow(NodeSnapshotDecodeError);
    expect(() => decodeNodeSnapshot(bytes('LNS1'))).toThrow(/missing the LNS1 magic/);
  });
});

describe('seq index', () => {
  it('locates the entry holding a seq and the last entry at or below a seq', () => {
    const index = new SeqIndex();
    index.reset(10, 100); // snapshot at 10, lastSeq 100
    index.record(11, 103); // seqs 101..103
    index.record(12, 103); // no events (noop / watermark)
    index.record(13, 104);
    expect(index.locate(100)).toBeUndefined(); // inside the snapshot: not locatable
    expect(index.locate(101)).toEqual({ index: 11, seqBefore: 100 });
    expect(index.locate(103)).toEqual({ index: 11, seqBefore: 100 });
    expect(index.locate(104)).toEqual({ index: 13, seqBefore: 103 });
    expect(index.locate(105)).toBeUndefined();
    expect(index.lastIndexAtOrBelow(103)).toBe(12);
    expect(index.lastIndexAtOrBelow(99)).toBeUndefined();
    expect(index.seqAt(12, -1)).toBe(103);
  });

  it('drops old pairs beyond its bound, but never those at or above the compaction floor', () => {
    const index = new SeqIndex();
    index.keepFrom(5);
    for (let at = 1; at <= seqIndexEntriesMax * 2 + 1; at += 1) index.record(at, at);
    expect(index.locate(6)).toEqual({ index: 6, seqBefore: 5 });
    index.keepFrom(seqIndexEntriesMax * 2);
    for (let at = seqIndexEntriesMax * 2 + 2; at <= seqIndexEntriesMax * 4 + 4; at += 1) index.record(at, at);
    expect(index.locate(6)).toBeUndefined();
    expect(index.locate(seqIndexEntriesMax * 2 + 1)).toEqual({ index: seqIndexEntriesMax * 2 + 1, seqBefore: seqIndexEntriesMax * 2 });
  });
});
