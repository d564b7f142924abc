/**
 * Insert-only rows of a batch (new transfers, account entries) go to Postgres with COPY … FROM
 * STDIN in the text format instead of `INSERT … SELECT FROM unnest(…)`: the server parses rows
 * instead of array literals, and JavaScript builds one string per table instead of escaping every
 * value into a Postgres array. A COPY runs inside the batch's transaction like any statement; a
 * duplicate key aborts it with the same unique violation (23505) an INSERT raises.
 *
 * The encoders are pure (tested on their own); `copyIn` is the only I/O.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { EntryRow, TransferRow } from './batch-fold.ts';

export type CopyValue = string | number | bigint | boolean | null;

/** One value in COPY's text format: `\N` for NULL, backslash escapes for the delimiter and line breaks. */
export function copyText(value: CopyValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value !== 'string') {
    assert(typeof value === 'bigint' || Number.isSafeInteger(value), `COPY value ${value} must be an integer (amounts and counters are never floats)`);
    return value.toString();
  }
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, escapeCharacter) : value;
}

function escapeCharacter(character: string): string {
  switch (character) {
    case '\\': return '\\\\';
    case '\t': return '\\t';
    case '\n': return '\\n';
    case '\r': return '\\r';
    default: throw new Error(`no COPY escape for ${JSON.stringify(character)}`);
  }
}

/** Characters per piece of COPY text handed to the stream (pieces end at a row's end). */
export const copyChunkCharactersMax = 1 << 20;

/** Rows as COPY text — values joined by tabs, one line per row — in pieces of whole rows. */
export function copyLines(rows: readonly (readonly CopyValue[])[]): string[] {
  const pieces: string[] = [];
  let text = '';
  for (const row of rows) {
    text += row.map(copyText).join('\t') + '\n';
    if (text.length >= copyChunkCharactersMax) {
      pieces.push(text);
      text = '';
    }
  }
  if (text.length > 0) pieces.push(text);
  return pieces;
}

export const transferColumns = ['id', 'shard', 'kind', 'debit_account_id', 'credit_account_id', 'amount', 'ledger', 'code', 'user_data', 'status',
  'pending_id', 'pending_amount', 'timeout_seconds', 'timeout_at', 'resolved_by', 'seq', 'occurred_at', 'status_seq', 'status_changed_at'] as const;

export function transferValues(transfer: TransferRow): CopyValue[] {
  return [transfer.id, transfer.shard, transfer.kind, transfer.debitAccountId, transfer.creditAccountId, transfer.amount, transfer.ledger, transfer.code,
    transfer.userData, transfer.status, transfer.pendingId, transfer.pendingAmount, transfer.timeoutSeconds, transfer.timeoutAt, transfer.resolvedBy,
    transfer.seq, transfer.occurredAt, transfer.statusSeq, transfer.statusChangedAt];
}

export const entryColumns = ['account_id', 'seq', 'shard', 'transfer_id', 'kind', 'direction', 'amount', 'pending_change', 'posted_change', 'balance_after', 'occurred_at'] as const;

export function entryValues(entry: EntryRow): CopyValue[] {
  return [entry.accountId, entry.seq, entry.shard, entry.transferId, entry.kind, entry.direction, entry.amount, entry.pendingChange, entry.postedChange,
    entry.balanceAfter, entry.occurredAt];
}

/**
 * COPY the `pieces` (from copyLines) into `schema.table` (columns in this order) on `client`, which must be inside the
 * caller's transaction. Resolves when the server has accepted every row.
 */
export async function copyIn(client: pg.PoolClient, schema: string, table: string, columns: readonly string[], pieces: readonly string[]): Promise<void> {
  if (pieces.length === 0) return;
  const target = `${quoteIdentifier(schema)}.${quoteIdentifier(table)} (${columns.map(quoteIdentifier).join(', ')})`;
  const stream = client.query(copyFrom(`COPY ${target} FROM STDIN`));
  await pipeline(Readable.from(pieces), stream);
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
