import { describe, expect, it } from 'vitest';
import type { EntryRow, TransferRow } from './batch-fold.ts';
import { BinaryCopyWriter, copyChunkBytesMax, entryTuples, transferTuples } from './copy-binary.ts';

const header = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);

/** Splits COPY binary data (header, tuples, trailer) into tuples of raw field bytes (null for NULL), checking the framing. */
function parse(data: Buffer): (Buffer | null)[][] {
  expect(data.subarray(0, 19)).toEqual(header);
  const tuples: (Buffer | null)[][] = [];
  let at = 19;
  for (;;) {
    const fields = data.readInt16BE(at);
    at += 2;
    if (fields === -1) break;
    const tuple: (Buffer | null)[] = [];
    for (let field = 0; field < fields; field += 1) {
      const length = data.readInt32BE(at);
      at += 4;
      tuple.push(length === -1 ? null : data.subarray(at, at + length));
      if (length > 0) at += length;
    }
    tuples.push(tuple);
  }
  expect(at).toBe(data.length);
  return tuples;
}

function single(write: (writer: BinaryCopyWriter) => void): Buffer | null {
  const writer = new BinaryCopyWriter();
  write(writer.tuple(1));
  return parse(Buffer.concat(writer.finish()))[0]![0]!;
}

/** Reads a numeric's binary form back to a bigint (scale 0), independently of the writer. */
function numericValue(bytes: Buffer): { value: bigint; ndigits: number; weight: number; sign: number; dscale: number } {
  const ndigits = bytes.readInt16BE(0);
  const weight = bytes.readInt16BE(2);
  const sign = bytes.readUInt16BE(4);
  const dscale = bytes.readInt16BE(6);
  let value = 0n;
  for (let index = 0; index < ndigits; index += 1) value += BigInt(bytes.readInt16BE(8 + 2 * index)) * 10_000n ** BigInt(weight - index);
  return { value: sign === 0x4000 ? -value : value, ndigits, weight, sign, dscale };
}

describe('COPY binary encoding', () => {
  it('frames tuples between the signature header and the -1 trailer, and writes nothing for no tuple', () => {
    expect(new BinaryCopyWriter().finish()).toEqual([]);
    const writer = new BinaryCopyWriter();
    writer.tuple(2).text('a').null();
    writer.tuple(1).int4(-7);
    const data = Buffer.concat(writer.finish());
    expect(data.subarray(-2).readInt16BE(0)).toBe(-1);
    const tuples = parse(data);
    expect(tuples).toHaveLength(2);
    expect(tuples[0]![0]!.toString('utf8')).toBe('a');
    expect(tuples[0]![1]).toBeNull();
    expect(tuples[1]![0]!.readInt32BE(0)).toBe(-7);
  });

  it('writes text as UTF-8 bytes with their byte length, whatever characters it holds', () => {
    const value = 'tab\there \\N naïve — ✓';
    const bytes = single((writer) => writer.text(value))!;
    expect(bytes.length).toBe(Buffer.byteLength(value));
    expect(bytes.toString('utf8')).toBe(value);
  });

  it('writes int8 big-endian from safe numbers and bigints, and refuses floats and values out of range', () => {
    expect(single((writer) => writer.int8(1))!.readBigInt64BE(0)).toBe(1n);
    expect(single((writer) => writer.int8(2 ** 32 + 5))!.readBigInt64BE(0)).toBe(2n ** 32n + 5n);
    expect(single((writer) => writer.int8(Number.MAX_SAFE_INTEGER))!.readBigInt64BE(0)).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    expect(single((writer) => writer.int8(-5))!.readBigInt64BE(0)).toBe(-5n);
    expect(single((writer) => writer.int8(2n ** 63n - 1n))!.readBigInt64BE(0)).toBe(2n ** 63n - 1n);
    expect(single((writer) => writer.int8(-(2n ** 63n)))!.readBigInt64BE(0)).toBe(-(2n ** 63n));
    expect(single((writer) => writer.int8(null))).toBeNull();
    expect(() => new BinaryCopyWriter().tuple(1).int8(1.5)).toThrow(/must be an integer/);
    expect(() => new BinaryCopyWriter().tuple(1).int8(2n ** 63n)).toThrow(/out of range/);
    expect(() => new BinaryCopyWriter().tuple(1).int4(2 ** 31)).toThrow(/out of range/);
  });

  it('writes numerics as base-10000 digits, most significant first, without trailing zero groups', () => {
    expect(numericValue(single((writer) => writer.numeric(0n))!)).toEqual({ value: 0n, ndigits: 0, weight: 0, sign: 0, dscale: 0 });
    // 12345678 = 1234 × 10000 + 5678
    const bytes = single((writer) => writer.numeric(12_345_678n))!;
    expect([bytes.readInt16BE(8), bytes.readInt16BE(10)]).toEqual([1234, 5678]);
    expect(numericValue(bytes)).toEqual({ value: 12_345_678n, ndigits: 2, weight: 1, sign: 0, dscale: 0 });
    expect(numericValue(single((writer) => writer.numeric(-10_000n))!)).toEqual({ value: -10_000n, ndigits: 1, weight: 1, sign: 0x4000, dscale: 0 });
    expect(numericValue(single((writer) => writer.numeric(10n ** 36n))!)).toEqual({ value: 10n ** 36n, ndigits: 1, weight: 9, sign: 0, dscale: 0 });
    const large = -(10n ** 38n) + 123_456_789n;
    expect(numericValue(single((writer) => writer.numeric(large))!).value).toBe(large);
  });

  it('writes timestamptz as microseconds since 2000-01-01 UTC', () => {
    const micros = (iso: string) => single((writer) => writer.timestamptz(iso))!.readBigInt64BE(0);
    expect(micros('2000-01-01T00:00:00.000Z')).toBe(0n);
    expect(micros('2000-01-01T00:00:00.001Z')).toBe(1_000n);
    expect(micros('1999-12-31T23:59:59.999Z')).toBe(-1_000n);
    expect(micros('2026-11-23T01:02:03.456Z')).toBe(BigInt(Date.UTC(2026, 10, 23, 1, 2, 3, 456) - Date.UTC(2000, 0, 1)) * 1_000n);
    expect(single((writer) => writer.timestamptz(null))).toBeNull();
    expect(() => new BinaryCopyWriter().tuple(1).timestamptz('yesterday')).toThrow(/not an ISO-8601 time/);
  });

  it('cuts pieces only between tuples, and a value larger than a piece still fits', () => {
    const writer = new BinaryCopyWriter();
    const long = 'x'.repeat(10_000);
    const count = Math.ceil((3 * copyChunkBytesMax) / 10_000);
    for (let index = 0; index < count; index += 1) writer.tuple(2).text(long).int4(index);
    writer.tuple(1).text('y'.repeat(2 * copyChunkBytesMax));
    const pieces = writer.finish();
    expect(pieces.length).toBeGreaterThan(2);
    // Every piece after the first starts with a tuple's field count (or the trailer).
    for (const piece of pieces.slice(1)) expect([2, 1, -1]).toContain(piece.readInt16BE(0));
    const tuples = parse(Buffer.concat(pieces));
    expect(tuples).toHaveLength(count + 1);
    expect(tuples.slice(0, count).map((tuple) => tuple[1]!.readInt32BE(0))).toEqual(Array.from({ length: count }, (_, index) => index));
    expect(tuples[count]![0]!.length).toBe(2 * copyChunkBytesMax);
  });

  it('writes transfer and entry rows in the column order and types of their tables', () => {
    const transfer: TransferRow = {
      id: 'p-post', shard: 3, kind: 'post_pending', debitAccountId: 'a:1', creditAccountId: 'b.2', amount: 9_223_372_036_854_775_807n, ledger: 7, code: 0,
      userData: null, status: 'posted', pendingId: 'p-1', pendingAmount: 50n, timeoutSeconds: 30, timeoutAt: '2026-11-23T01:02:33.456Z', resolvedBy: null,
      seq: 12, occurredAt: '2026-11-23T01:02:03.456Z', statusSeq: 14, statusChangedAt: '2026-11-23T01:02:04.000Z',
    };
    const [fields] = parse(Buffer.concat(transferTuples([transfer])));
    const text = (index: number) => fields![index]?.toString('utf8') ?? null;
    const int8 = (index: number) => fields![index]!.readBigInt64BE(0);
    const time = (index: number) => new Date(Number(int8(index) / 1_000n) + Date.UTC(2000, 0, 1)).toISOString();
    expect(fields).toHaveLength(19);
    expect([text(0), fields![1]!.readInt32BE(0), text(2), text(3), text(4)]).toEqual(['p-post', 3, 'post_pending', 'a:1', 'b.2']);
    expect([int8(5), int8(6), int8(7), text(8), text(9), text(10), int8(11), int8(12)]).toEqual([transfer.amount, 7n, 0n, null, 'posted', 'p-1', 50n, 30n]);
    expect([time(13), text(14), int8(15), time(16), int8(17), time(18)]).toEqual([transfer.timeoutAt, null, 12n, transfer.occurredAt, 14n, transfer.statusChangedAt]);

    const entry: EntryRow = {
      accountId: 'a:1', seq: 12, shard: 3, transferId: 't-1', kind: 'expire_pending', direction: 'credit', amount: 5n, pendingChange: -5n, postedChange: 0n,
      balanceAfter: -123_456_789_012n, occurredAt: '2026-11-23T01:02:03.456Z',
    };
    const [entryFields] = parse(Buffer.concat(entryTuples([entry])));
    expect(entryFields).toHaveLength(11);
    expect(entryFields!.map((field, index) => [0, 3, 4, 5].includes(index) ? field!.toString('utf8') : index === 2 ? field!.readInt32BE(0)
      : index === 9 ? numericValue(field!).value : index === 10 ? Number(field!.readBigInt64BE(0) / 1_000n) + Date.UTC(2000, 0, 1) : field!.readBigInt64BE(0)))
      .toEqual(['a:1', 12n, 3, 't-1', 'expire_pending', 'credit', 5n, -5n, 0n, -123_456_789_012n, Date.parse(entry.occurredAt)]);
  });
});
