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

/** Rows as COPY text — one line per row, from `line` — in pieces of whole rows. */
export function copyPieces<Row>(rows: readonly Row[], line: (row: Row) => string): string[] {
  const pieces: string[] = [];
  let text = '';
  for (const row of rows) {
    text += line(row);
    if (text.length >= copyChunkCharactersMax) {
      pieces.push(text);
      text = '';
    }
  }
  if (text.length > 0) pieces.push(text);
  return pieces;
}

/*
 * The two hot rows are written field by field. Ids, kinds, directions and timestamps need no
 * escaping: the envelope decoder admits ids of [A-Za-z0-9._:-] only, kinds and directions are
 * enums and timestamps ISO-8601; numbers are integers. Only userData (free text) goes through
 * copyText.
 */

export const transferColumns = ['id', 'shard', 'kind', 'debit_account_id', 'credit_account_id', 'amount', 'ledger', 'code', 'user_data', 'status',
  'pending_id', 'pending_amount', 'timeout_seconds', 'timeout_at', 'resolved_by', 'seq', 'occurred_at', 'status_seq', 'status_changed_at'] as const;

/** One transfer row as a COPY line, columns in transferColumns order (see above). */
export function transferLine(transfer: TransferRow): string {
  const userData = transfer.userData === null ? '\\N' : copyText(transfer.userData);
  return `${transfer.id}\t${transfer.shard}\t${transfer.kind}\t${transfer.debitAccountId}\t${transfer.creditAccountId}\t${transfer.amount}\t${transfer.ledger}\t${transfer.code}\t`
    + `${userData}\t${transfer.status}\t${transfer.pendingId ?? '\\N'}\t${transfer.pendingAmount ?? '\\N'}\t${transfer.timeoutSeconds}\t${transfer.timeoutAt ?? '\\N'}\t`
    + `${transfer.resolvedBy ?? '\\N'}\t${transfer.seq}\t${transfer.occurredAt}\t${transfer.statusSeq}\t${transfer.statusChangedAt}\n`;
}

export const entryColumns = ['account_id', 'seq', 'shard', 'transfer_id', 'kind', 'direction', 'amount', 'pending_change', 'posted_change', 'balance_after', 'occurred_at'] as const;

/** One account entry as a COPY line, columns in entryColumns order (see above). */
export function entryLine(entry: EntryRow): string {
  return `${entry.accountId}\t${entry.seq}\t${entry.shard}\t${entry.transferId}\t${entry.kind}\t${entry.direction}\t${entry.amount}\t`
    + `${entry.pendingChange}\t${entry.postedChange}\t${entry.balanceAfter}\t${entry.occurredAt}\n`;
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
