/**
 * Eventually consistent reads of the ledger read models (DESIGN.md §7): each read runs in one
 * read-only REPEATABLE READ snapshot, so the row and the checkpoint reported as `asOf` come from
 * the same moment (the projector commits rows and checkpoint together).
 */
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { LedgerReadModelDatabase } from '../projector/read-model-database.ts';
import { encodeCursor } from './page-cursor.ts';
import type { AccountResponse, AsOf, EntriesPage, TransferResponse } from './read-schemas.ts';

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

type ReadDatabase = Kysely<LedgerReadModelDatabase>;

function snapshot<T>(db: ReadDatabase, read: (transaction: ReadDatabase) => Promise<T>): Promise<T> {
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(read);
}

function toSafeNumber(decimal: string, what: string): number {
  const value = Number(decimal);
  assert.ok(Number.isSafeInteger(value), `${what} ${decimal} is not a safe integer`);
  return value;
}

async function checkpointOf(db: ReadDatabase, shard: number): Promise<AsOf> {
  const row = await db.selectFrom('ledger.checkpoints').select('seq').where('shard', '=', shard).executeTakeFirst();
  return { shard, seq: row === undefined ? 0 : toSafeNumber(row.seq, 'checkpoint seq') };
}

export async function readAccount(db: ReadDatabase, id: string): Promise<ReadResult<AccountResponse>> {
  return snapshot(db, async (transaction) => {
    const row = await transaction.selectFrom('ledger.accounts').selectAll().where('id', '=', id).executeTakeFirst();
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
        asOf: await checkpointOf(transaction, row.shard),
      },
    };
  });
}

export async function readTransfer(db: ReadDatabase, id: string): Promise<ReadResult<TransferResponse>> {
  return snapshot(db, async (transaction) => {
    const row = await transaction.selectFrom('ledger.transfers').selectAll().where('id', '=', id).executeTakeFirst();
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
        asOf: await checkpointOf(transaction, row.shard),
      },
    };
  });
}

/** Newest first, keyset pagination on (account_id, seq). */
export async function readEntriesPage(db: ReadDatabase, request: EntriesPageRequest): Promise<ReadResult<EntriesPage>> {
  assert.ok(Number.isSafeInteger(request.limit) && request.limit >= 1, `page limit ${request.limit} must be a positive integer`);
  return snapshot(db, async (transaction) => {
    const account = await transaction.selectFrom('ledger.accounts').select('shard').where('id', '=', request.accountId).executeTakeFirst();
    if (account === undefined) return { ok: false, error: { code: 'account_not_found', id: request.accountId } };
    let query = transaction.selectFrom('ledger.account_entries')
      .select(['transfer_id', 'seq', 'direction', 'amount', 'balance_after', 'kind', 'occurred_at'])
      .where('account_id', '=', request.accountId);
    if (request.beforeSeq !== undefined) query = query.where('seq', '<', request.beforeSeq.toString());
    // One row more than the page tells whether another page follows.
    const rows = await query.orderBy('seq', 'desc').limit(request.limit + 1).execute();
    const page = rows.slice(0, request.limit);
    const last = page.at(-1);
    return {
      ok: true,
      value: {
        items: page.map((row) => ({
          transferId: row.transfer_id,
          seq: toSafeNumber(row.seq, 'seq'),
          direction: row.direction,
          amount: row.amount,
          balanceAfter: row.balance_after,
          kind: row.kind,
          occurredAt: row.occurred_at.toISOString(),
        })),
        nextCursor: rows.length > request.limit && last !== undefined ? encodeCursor(BigInt(last.seq)) : null,
        asOf: await checkpointOf(transaction, account.shard),
      },
    };
  });
}
