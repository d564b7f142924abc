/**
 * Insert-only rows of a batch (new transfers, account entries) go to Postgres with COPY … FROM
 * STDIN in the binary format (copy-binary.ts encodes them) instead of `INSERT … SELECT FROM
 * unnest(…)`: no value is escaped into a Postgres array by JavaScript, none parsed from text by
 * the server. A COPY runs inside the batch's transaction like any statement; a duplicate key
 * aborts it with the same unique violation (23505) an INSERT raises.
 *
 * `copyIn` is the only I/O.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** Columns of `transfers` in the order transferTuples writes them. */
export const transferColumns = ['id', 'shard', 'kind', 'debit_account_id', 'credit_account_id', 'amount', 'ledger', 'code', 'user_data', 'status',
  'pending_id', 'pending_amount', 'timeout_seconds', 'timeout_at', 'resolved_by', 'seq', 'occurred_at', 'status_seq', 'status_changed_at'] as const;

/** Columns of `account_entries` in the order entryTuples writes them. */
export const entryColumns = ['account_id', 'seq', 'shard', 'transfer_id', 'kind', 'direction', 'amount', 'pending_change', 'posted_change', 'balance_after', 'occurred_at'] as const;

/**
 * COPY the binary `pieces` (transferTuples / entryTuples) into `schema.table` (columns in this
 * order) on `client`, which must be inside the caller's transaction. Resolves when the server has
 * accepted every row.
 */
export async function copyIn(client: pg.PoolClient, schema: string, table: string, columns: readonly string[], pieces: readonly Buffer[]): Promise<void> {
  if (pieces.length === 0) return;
  const target = `${quoteIdentifier(schema)}.${quoteIdentifier(table)} (${columns.map(quoteIdentifier).join(', ')})`;
  const stream = client.query(copyFrom(`COPY ${target} FROM STDIN (FORMAT binary)`));
  await pipeline(Readable.from(pieces), stream);
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
