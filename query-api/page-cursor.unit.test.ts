import { describe, expect, it } from 'vitest';
import { cursorSeqMax, decodeCursor, encodeCursor } from './page-cursor.ts';

describe('page cursor', () => {
  it('round-trips seqs from 1 to the bigint maximum', () => {
    for (const seq of [1n, 42n, 1_000_000n, cursorSeqMax]) expect(decodeCursor(encodeCursor(seq))).toEqual({ ok: true, seq });
  });

  it('is opaque base64url, not the bare seq', () => {
    expect(encodeCursor(42n)).toBe('djE6NDI');
  });

  it('refuses malformed, forged and non-canonical cursors', () => {
    const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
    const refused = ['', '42', '!!!', 'djE6NDI=', encode('v1:0'), encode('v1:-1'), encode('v1:007'), encode('v2:42'), encode('v1:42 '),
      encode(`v1:${cursorSeqMax + 1n}`), encode('v1:1e3'), 'a'.repeat(65)];
    for (const cursor of refused) expect(decodeCursor(cursor)).toEqual({ ok: false, code: 'invalid_cursor' });
  });

  it('refuses a cursor whose last character carries stray bits', () => {
    const canonical = encodeCursor(42n);
    const altered = `${canonical.slice(0, -1)}J`;
    expect(Buffer.from(altered, 'base64url').toString('utf8')).toBe('v1:42');
    expect(decodeCursor(altered)).toEqual({ ok: false, code: 'invalid_cursor' });
  });
});
