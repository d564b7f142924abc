import { describe, expect, it } from 'vitest';
import type { EntryRow, TransferRow } from './batch-fold.ts';
import { runAtOnce, runInSlices } from './work-slices.ts';
import { copyChunkBytesMax, copyChunkSteps, copyChunks, copyText, entryLine, transferLine, type CopyValue } from './copy-rows.ts';

/** The generic encoding the field-by-field row builders must agree with: every value through copyText. */
function copyLines(rows: readonly (readonly CopyValue[])[]): string[] {
  return copyChunks(rows, (row) => row.map(copyText).join('\t') + '\n').map((chunk) => chunk.toString('utf8'));
}

function transferValues(transfer: TransferRow): CopyValue[] {
  return [transfer.id, transfer.shard, transfer.kind, transfer.debitAccountId, transfer.creditAccountId, transfer.amount, transfer.ledger, transfer.code,
    transfer.userData, transfer.status, transfer.pendingId, transfer.pendingAmount, transfer.timeoutSeconds, transfer.timeoutAt, transfer.resolvedBy,
    transfer.seq, transfer.occurredAt, transfer.statusSeq, transfer.statusChangedAt];
}

function entryValues(entry: EntryRow): CopyValue[] {
  return [entry.accountId, entry.seq, entry.shard, entry.transferId, entry.kind, entry.direction, entry.amount, entry.pendingChange, entry.postedChange,
    entry.balanceAfter, entry.occurredAt];
}

describe('COPY text encoding', () => {
  it('writes NULL as \\N, booleans as t/f and integers (bigint or safe number) as decimal digits', () => {
    expect(copyText(null)).toBe('\\N');
    expect(copyText(true)).toBe('t');
    expect(copyText(false)).toBe('f');
    expect(copyText(123_456_789_012_345_678_901_234_567_890n)).toBe('123456789012345678901234567890');
    expect(copyText(-42)).toBe('-42');
  });

  it('refuses a float or an unsafe number instead of writing an amount that is not exact', () => {
    expect(() => copyText(1.5)).toThrow(/must be an integer/);
    expect(() => copyText(2 ** 60)).toThrow(/must be an integer/);
  });

  it('escapes the backslash, the delimiter and line breaks so user data cannot split or shift a row', () => {
    expect(copyText('plain-id_1')).toBe('plain-id_1');
    expect(copyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    // The literal two characters "\N" are data, not NULL.
    expect(copyText('\\N')).toBe('\\\\N');
  });

  it('joins values by tabs, one line per row, in chunks that end at a row boundary', () => {
    expect(copyLines([['a', 1, null], ['b\tc', 2n, true]])).toEqual(['a\t1\t\\N\nb\\tc\t2\tt\n']);
    expect(copyLines([])).toEqual([]);
    const long = 'x'.repeat(1_000);
    const rows = Array.from({ length: Math.ceil((3 * copyChunkBytesMax) / 1_000) }, (_, index) => [long, index]);
    const chunks = copyLines(rows);
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(chunk.endsWith('\n')).toBe(true);
    const lines = chunks.join('').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toEqual(rows.map(([text, index]) => `${text}\t${index}`));
  });

  it('keeps multi-byte characters whole and gives a row longer than a chunk a chunk of its own', () => {
    const wide = 'é€😀'.repeat(Math.ceil(copyChunkBytesMax / 6));
    const rows = [['before', 1], [wide, 2], ['ünïcode', 3]];
    const chunks = copyChunks(rows, (row) => row.map(copyText).join('\t') + '\n');
    expect(Buffer.concat(chunks).toString('utf8')).toBe(`before\t1\n${wide}\t2\nünïcode\t3\n`);
    for (const chunk of chunks) expect(chunk.toString('utf8').endsWith('\n')).toBe(true);
    expect(chunks.some((chunk) => chunk.length > copyChunkBytesMax)).toBe(true);
  });

  it('writes transfer and entry rows field by field exactly as the generic encoding would', () => {
    const single: TransferRow = {
      id: 't-1', shard: 0, kind: 'single_phase', debitAccountId: 'a:1', creditAccountId: 'b.2', amount: 9_223_372_036_854_775_807n, ledger: 7, code: 0,
      userData: 'tab\there\\and\nnewline', status: 'posted', pendingId: null, pendingAmount: null, timeoutSeconds: 0, timeoutAt: null, resolvedBy: null,
      seq: 12, occurredAt: '2026-11-23T01:02:03.456Z', statusSeq: 12, statusChangedAt: '2026-11-23T01:02:03.456Z',
    };
    const post: TransferRow = {
      ...single, id: 'p-post', kind: 'post_pending', userData: null, pendingId: 'p-1', pendingAmount: 50n, timeoutSeconds: 30, timeoutAt: '2026-11-23T01:02:33.456Z',
      status: 'pending', resolvedBy: 'x-9', statusSeq: 14,
    };
    for (const transfer of [single, post]) expect(transferLine(transfer)).toBe(copyLines([transferValues(transfer)]).join(''));
    const entry: EntryRow = {
      accountId: 'a:1', seq: 12, shard: 3, transferId: 't-1', kind: 'expire_pending', direction: 'credit', amount: 5n, pendingChange: -5n, postedChange: 0n,
      balanceAfter: -123_456_789_012n, occurredAt: '2026-11-23T01:02:03.456Z',
    };
    expect(entryLine(entry)).toBe(copyLines([entryValues(entry)]).join(''));
    expect(copyChunks([entry, entry], entryLine).map((chunk) => chunk.toString('utf8'))).toEqual([entryLine(entry) + entryLine(entry)]);
  });

  it('made a slice at a time, gives the same chunks as in one go', async () => {
    const rows = Array.from({ length: 1_000 }, (_, index) => [`row-${index}`, index, index % 3 === 0 ? null : `données ${index}`]);
    const line = (row: readonly CopyValue[]) => row.map(copyText).join('\t') + '\n';
    const whole = Buffer.concat(copyChunks(rows, line));
    expect(Buffer.concat(await runInSlices(copyChunkSteps(rows, line, 7)))).toEqual(whole);
    expect(Buffer.concat(runAtOnce(copyChunkSteps(rows, line, 1)))).toEqual(whole);
    expect(whole.toString('utf8').split('\n')).toHaveLength(rows.length + 1);
  });
});
