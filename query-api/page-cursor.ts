/**
 * The opaque cursor of the account-entries pages: base64url of `v1:<seq>`, the seq of the last
 * entry of the previous page. Decoding accepts only the canonical encoding, so a forged or
 * altered cursor is refused rather than silently reinterpreted.
 */

export type CursorDecoding = { readonly ok: true; readonly seq: bigint } | { readonly ok: false; readonly code: 'invalid_cursor' };

/** Largest seq a cursor may carry (Postgres bigint). */
export const cursorSeqMax = 9_223_372_036_854_775_807n;

const cursorCharactersMax = 64;
const base64UrlPattern = /^[A-Za-z0-9_-]+$/;
const payloadPattern = /^v1:([1-9][0-9]{0,18})$/;

export function encodeCursor(seq: bigint): string {
  return Buffer.from(`v1:${seq}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorDecoding {
  if (cursor.length > cursorCharactersMax || !base64UrlPattern.test(cursor)) return { ok: false, code: 'invalid_cursor' };
  const match = payloadPattern.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null || match[1] === undefined) return { ok: false, code: 'invalid_cursor' };
  const seq = BigInt(match[1]);
  if (seq > cursorSeqMax || encodeCursor(seq) !== cursor) return { ok: false, code: 'invalid_cursor' };
  return { ok: true, seq };
}
