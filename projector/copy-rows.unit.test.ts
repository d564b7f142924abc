import { describe, expect, it } from 'vitest';
import { copyChunkCharactersMax, copyLines, copyText } from './copy-rows.ts';

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

  it('joins values by tabs, one line per row, in pieces that end at a row boundary', () => {
    expect(copyLines([['a', 1, null], ['b\tc', 2n, true]])).toEqual(['a\t1\t\\N\nb\\tc\t2\tt\n']);
    expect(copyLines([])).toEqual([]);
    const long = 'x'.repeat(1_000);
    const rows = Array.from({ length: Math.ceil((3 * copyChunkCharactersMax) / 1_000) }, (_, index) => [long, index]);
    const pieces = copyLines(rows);
    expect(pieces.length).toBeGreaterThan(2);
    for (const piece of pieces) expect(piece.endsWith('\n')).toBe(true);
    const lines = pieces.join('').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toEqual(rows.map(([text, index]) => `${text}\t${index}`));
  });
});
