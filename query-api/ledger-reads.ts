/**
 * Reads of the ledger read models (DESIGN.md §7). Each read is ONE SQL statement, which Postgres
 * runs on one snapshot: the row and the checkpoint reported as `asOf` come from the same moment
 * (the projector commits rows and checkpoint together), exactly as a REPEATABLE READ transaction
 * around two statements would give, in one round trip instead of four (BEGIN, row, checkpoint,
 * COMMIT). Statements are named (prepared once per connection).
 *
 * Whether the answer is recent enough for the request is decided by the caller from `asOf`.
 */
import assert from 'node:assert/strict';
import type pg from 'pg';
import { encodeCursor } from './page-cursor.ts';
import type { AccountResponse, AsOf, EntriesPage, EntryItem, TransferResponse } from './read-schemas.ts';

export type ReadResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ReadError };

export type ReadError =
  | { readonly code: 'account_not_found'; readonly id: string }
  | { readonly code: 'transfer_not_found'; readonly id: string };

export interface EntriesPageRequest {
  readonly accountId: string;
  readonly limit: number;
  /** Seq of the last entry already seen; the page holds entries strictly older. */
  readonly beforeSeq: bigint | undefined;
}

/** What the reads need: `pg.Pool` or a client. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

function toSafeNumber(decimal: string | number, what: string): number {
  const value = Number(decimal);
  assert.ok(Number.isSafeInteger(value), `${what} ${decimal} is not a safe integer`);
  return value;
}

/** The live checkpoint of the row's shard, read in the same statement (hence snapshot) as the row. */
const checkpointOfRow = (alias: string) => `COALESCE((SELECT c.seq FROM ledger.checkpoints c WHERE c.shard = ${alias}.shard), 0) AS checkpoint_seq`;

const accountStatement = `SELECT a.id, a.shard, a.ledger, a.code, a.debits_must_not_exceed_credits, a.credits_must_not_exceed_debits,
    a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, a.balance, ${checkpointOfRow('a')}
  FROM ledger.accounts a WHERE a.id = $1`;

interface AccountRow {
  id: string; shard: number; ledger: string; code: string; debits_must_not_exceed_credits: boolean; credits_must_not_exceed_debits: boolean;
  debits_pending: string; debits_posted: string; credits_pending: string; credits_posted: string; balance: string; checkpoint_seq: string;
}

function asOf(row: { shard: number; checkpoint_seq: string }): AsOf {
  return { shard: row.shard, seq: toSafeNumber(row.checkpoint_seq, 'checkpoint seq') };
}

export async function readAccount(db: Queryable, id: string): Promise<ReadResult<AccountResponse>> {
  const result = await db.query<AccountRow>({ name: 'query-api-account', text: accountStatement, values: [id] });
  const row = result.rows[0];
  if (row === undefined) return { ok: false, error: { code: 'account_not_found', id } };
  return {
    ok: true,
    value: {
      id: row.id,
      ledger: toSafeNumber(row.ledger, 'ledger'),
      code: toSafeNumber(row.code, 'code'),
      flags: { debitsMustNotExceedCredits: row.debits_must_not_exceed_credits, creditsMustNotExceedDebits: row.credits_must_not_exceed_debits },
      debitsPending: row.debits_pending,
      debitsPosted: row.debits_posted,
      creditsPending: row.credits_pending,
      creditsPosted: row.credits_posted,
      balance: row.balance,
      asOf: asOf(row),
    },
  };
}

const transferStatement = `SELECT t.id, t.shard, t.debit_account_id, t.credit_account_id, t.amount, t.ledger, t.code, t.status, t.pending_id, t.seq,
    t.occurred_at, ${checkpointOfRow('t')}
  FROM ledger.transfers t WHERE t.id = $1`;

interface TransferRow {
  id: string; shard: number; debit_account_id: string; credit_account_id: string; amount: string; ledger: string; code: string;
  status: TransferResponse['status']; pending_id: string | null; seq: string; occurred_at: Date; checkpoint_seq: string;
}

export async function readTransfer(db: Queryable, id: string): Promise<ReadResult<TransferResponse>> {
  const result = await db.query<TransferRow>({ name: 'query-api-transfer', text: transferStatement, values: [id] });
  const row = result.rows[0];
  if (row === undefined) return { ok: false, error: { code: 'transfer_not_found', id } };
  return {
    ok: true,
    value: {
      id: row.id,
      debitAccountId: row.debit_account_id,
      creditAccountId: row.credit_account_id,
      amount: row.amount,
      ledger: toSafeNumber(row.ledger, 'ledger'),
      code: toSafeNumber(row.code, 'code'),
      status: row.status,
      pendingId: row.pending_id,
      seq: toSafeNumber(row.seq, 'seq'),
      occurredAt: row.occurred_at.toISOString(),
      asOf: asOf(row),
    },
  };
}

// The account row anchors the page (no row: unknown account); the entries come from a lateral
// subquery (none: one row with null entry columns). `$2` null = first page.
const entriesStatement = `SELECT a.shard, ${checkpointOfRow('a')},
    e.transfer_id, e.seq, e.direction, e.amount, e.balance_after, e.kind, e.occurred_at
  FROM ledger.accounts a
  LEFT JOIN LATERAL (
    SELECT transfer_id, seq, direction, amount, balance_after, kind, occurred_at FROM ledger.account_entries
     WHERE account_id = a.id AND ($2::bigint IS NULL OR seq < $2::bigint)
     ORDER BY seq DESC LIMIT $3
  ) e ON true
  WHERE a.id = $1
  ORDER BY e.seq DESC`;

interface EntryRow {
  shard: number; checkpoint_seq: string;
  transfer_id: string | null; seq: string | null; direction: EntryItem['direction'] | null; amount: string | null; balance_after: string | null;
  kind: EntryItem['kind'] | null; occurred_at: Date | null;
}

/** Newest first, keyset pagination on (account_id, seq). */
export async function readEntriesPage(db: Queryable, request: EntriesPageRequest): Promise<ReadResult<EntriesPage>> {
  assert.ok(Number.isSafeInteger(request.limit) && request.limit >= 1, `page limit ${request.limit} must be a positive integer`);
  // One row more than the page tells whether another page follows.
  const result = await db.query<EntryRow>({
    name: 'query-api-entries', text: entriesStatement,
    values: [request.accountId, request.beforeSeq === undefined ? null : request.beforeSeq.toString(), request.limit + 1],
  });
  const first = result.rows[0];
  if (first === undefined) return { ok: false, error: { code: 'account_not_found', id: request.accountId } };
  const rows = result.rows.filter((row) => row.seq !== null);
  const page = rows.slice(0, request.limit);
  const last = page.at(-1);
  return {
    ok: true,
    value: {
      items: page.map((row) => ({
        transferId: row.transfer_id!,
        seq: toSafeNumber(row.seq!, 'seq'),
        direction: row.direction!,
        amount: row.amount!,
        balanceAfter: row.balance_after!,
        kind: row.kind!,
        occurredAt: row.occurred_at!.toISOString(),
      })),
      nextCursor: rows.length > request.limit && last !== undefined ? encodeCursor(BigInt(last.seq!)) : null,
      asOf: asOf(first),
    },
  };
}
