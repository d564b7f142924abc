/**
 * The imperative shell around the pure batch core: applies one batch of one partition to a
 * read-model version in ONE Postgres transaction together with its checkpoint, with one
 * statement per table (INSERT … SELECT FROM unnest(…) [ON CONFLICT …]), then notifies readers.
 *
 *   1. (live target) take the version-switch lock shared and read which version is live;
 *   2. lock the checkpoint row (projection = version schema, shard) — serialises two projectors
 *      that both think they own the partition during a rebalance;
 *   3. selectBatch: decode, skip duplicates, stop at a gap or a bad envelope;
 *   4. load the touched accounts and transfers (one query each), foldBatch in memory;
 *   5. write accounts, transfers, status changes, entries, daily totals (one statement each),
 *      advance the checkpoint (seq and Kafka offset), pg_notify('ledger_checkpoint', …).
 * A stop (gap, bad event, inconsistent event) still commits the events before it.
 */
import assert from 'node:assert/strict';
import { sql, type Kysely, type Transaction } from 'kysely';
import { foldBatch, idsTouched, type AccountRow, type BatchFold, type ExistingTransfer, type TransferKind, type TransferStatus } from './batch-fold.ts';
import { selectBatch, type PartitionMessage } from './batch-selection.ts';
import type { PartitionStop } from './partition-stop.ts';

/** Largest number of messages one call applies (bounds memory, statement size and lock time). */
export const eventsPerBatchMax = 10_000;

/** pg_advisory lock the rebuild takes exclusively to switch versions; batches take it shared. */
export const versionSwitchLockKey = 7_461_001;

export const checkpointChannel = 'ledger_checkpoint';

export type ApplyTarget = { readonly kind: 'live' } | { readonly kind: 'version'; readonly versionSchema: string };

export interface ApplyOptions {
  readonly shard: number;
  readonly messages: readonly PartitionMessage[];
  readonly target: ApplyTarget;
}

export interface ApplyOutcome {
  readonly versionSchema: string;
  readonly checkpointBefore: number;
  readonly checkpointAfter: number;
  readonly applied: number;
  /** Of `applied`, how many transfer-creating events (TransferCreated, PendingTransferPosted/Voided). */
  readonly transfersCreated: number;
  readonly duplicates: number;
  /** occurredAt of the last applied event (for lag in ms). */
  readonly lastOccurredAt: string | undefined;
  /** Offset up to which the consumer may move on (undefined: nothing examined). */
  readonly resolvedOffset: string | undefined;
  readonly stop: PartitionStop | undefined;
}

export interface CheckpointNotification {
  readonly projection: string;
  readonly shard: number;
  readonly seq: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the version schema is chosen at run time
type AnyDatabase = Kysely<any>;

export async function applyBatch(db: AnyDatabase, options: ApplyOptions): Promise<ApplyOutcome> {
  assert(options.messages.length <= eventsPerBatchMax, `batch of ${options.messages.length} exceeds eventsPerBatchMax`);
  return await db.transaction().execute(async (transaction) => {
    // The checkpoint commits with the rows, so a commit lost in a Postgres crash is simply
    // re-applied from Kafka: no need to wait for the WAL flush (latency, not safety).
    await sql`SET LOCAL synchronous_commit = off`.execute(transaction);
    const versionSchema = await resolveTarget(transaction, options.target);
    const checkpoint = await lockCheckpoint(transaction, versionSchema, options.shard);
    const selection = selectBatch(options.shard, checkpoint, options.messages);
    let fold: BatchFold | undefined;
    if (selection.toApply.length > 0) {
      const ids = idsTouched(selection.toApply);
      const [accounts, transfers] = [await loadAccounts(transaction, versionSchema, ids.accountIds), await loadTransfers(transaction, versionSchema, ids.transferIds)];
      fold = foldBatch(selection.toApply, { accounts, transfers });
      if (fold.applied.length > 0) await writeFold(transaction, versionSchema, fold);
    }
    const applied = fold?.applied ?? [];
    const last = applied.at(-1);
    const checkpointAfter = last?.envelope.seq ?? checkpoint;
    if (last !== undefined) {
      await sql`UPDATE ledger.projection_checkpoints SET seq = ${checkpointAfter}, kafka_offset = ${last.offset}, updated_at = now()
        WHERE projection = ${versionSchema} AND shard = ${options.shard}`.execute(transaction);
      if (options.target.kind === 'live') {
        const payload: CheckpointNotification = { projection: versionSchema, shard: options.shard, seq: checkpointAfter };
        await sql`SELECT pg_notify(${checkpointChannel}, ${JSON.stringify(payload)})`.execute(transaction);
      }
    }
    let stop = selection.stop;
    if (fold?.stop !== undefined) {
      const { envelope, reason } = fold.stop;
      stop = { code: 'inconsistent_event', shard: options.shard, seq: envelope.envelope.seq, offset: envelope.offset, reason: `${envelope.envelope.type}: ${reason}` };
    }
    const resolvedOffset = fold?.stop !== undefined ? last?.offset : selection.lastExaminedOffset;
    return {
      versionSchema, checkpointBefore: checkpoint, checkpointAfter, applied: applied.length, duplicates: selection.duplicates,
      transfersCreated: applied.filter(({ envelope }) => envelope.type === 'TransferCreated' || envelope.type === 'PendingTransferPosted' || envelope.type === 'PendingTransferVoided').length,
      lastOccurredAt: last?.envelope.occurredAt, resolvedOffset, stop,
    };
  });
}

async function resolveTarget(transaction: Transaction<unknown>, target: ApplyTarget): Promise<string> {
  if (target.kind === 'version') return target.versionSchema;
  await sql`SELECT pg_advisory_xact_lock_shared(${versionSwitchLockKey})`.execute(transaction);
  const live = await sql<{ version_schema: string }>`SELECT version_schema FROM ledger.read_model_versions WHERE status = 'live'`.execute(transaction);
  const row = live.rows[0];
  assert(row !== undefined && live.rows.length === 1, 'exactly one live read-model version');
  return row.version_schema;
}

/** Locks (creating at 0 if absent) the checkpoint row and returns its seq. */
export async function lockCheckpoint(transaction: Transaction<unknown>, versionSchema: string, shard: number): Promise<number> {
  await sql`INSERT INTO ledger.projection_checkpoints (projection, shard, seq, kafka_offset) VALUES (${versionSchema}, ${shard}, 0, -1)
    ON CONFLICT (projection, shard) DO NOTHING`.execute(transaction);
  const result = await sql<{ seq: string }>`SELECT seq FROM ledger.projection_checkpoints WHERE projection = ${versionSchema} AND shard = ${shard} FOR UPDATE`.execute(transaction);
  const row = result.rows[0];
  assert(row !== undefined);
  return Number(row.seq);
}

interface StoredAccount {
  id: string; shard: number; ledger: string; code: string; debits_must_not_exceed_credits: boolean; credits_must_not_exceed_debits: boolean;
  user_data: string | null; debits_pending: string; debits_posted: string; credits_pending: string; credits_posted: string;
  created_seq: string; created_at: string; seq: string; updated_at: string;
}

async function loadAccounts(transaction: Transaction<unknown>, schema: string, ids: readonly string[]): Promise<Map<string, AccountRow>> {
  const result = await sql<StoredAccount>`SELECT id, shard, ledger, code, debits_must_not_exceed_credits, credits_must_not_exceed_debits, user_data,
      debits_pending, debits_posted, credits_pending, credits_posted, created_seq, to_json(created_at) #>> '{}' AS created_at, seq, to_json(updated_at) #>> '{}' AS updated_at
    FROM ${sql.id(schema, 'accounts')} WHERE id = ANY(${ids}::text[])`.execute(transaction);
  return new Map(result.rows.map((row) => [row.id, {
    id: row.id, shard: row.shard, ledger: Number(row.ledger), code: Number(row.code),
    debitsMustNotExceedCredits: row.debits_must_not_exceed_credits, creditsMustNotExceedDebits: row.credits_must_not_exceed_debits,
    userData: row.user_data, debitsPending: BigInt(row.debits_pending), debitsPosted: BigInt(row.debits_posted),
    creditsPending: BigInt(row.credits_pending), creditsPosted: BigInt(row.credits_posted),
    createdSeq: Number(row.created_seq), createdAt: row.created_at, seq: Number(row.seq), updatedAt: row.updated_at,
  }]));
}

async function loadTransfers(transaction: Transaction<unknown>, schema: string, ids: readonly string[]): Promise<Map<string, ExistingTransfer>> {
  if (ids.length === 0) return new Map();
  const result = await sql<{ id: string; kind: TransferKind; status: TransferStatus; debit_account_id: string; credit_account_id: string; amount: string; ledger: string }>`
    SELECT id, kind, status, debit_account_id, credit_account_id, amount, ledger FROM ${sql.id(schema, 'transfers')} WHERE id = ANY(${ids}::text[])`.execute(transaction);
  return new Map(result.rows.map((row) => [row.id, {
    id: row.id, kind: row.kind, status: row.status, debitAccountId: row.debit_account_id, creditAccountId: row.credit_account_id,
    amount: BigInt(row.amount), ledger: Number(row.ledger),
  }]));
}

async function writeFold(transaction: Transaction<unknown>, schema: string, fold: BatchFold): Promise<void> {
  // Accounts created in this batch are inserted; the others exist and get their counters updated
  // (a plain UPDATE, HOT when the page has room: no index changes).
  const firstSeq = fold.applied[0]!.envelope.seq;
  const created = fold.accounts.filter((account) => account.createdSeq >= firstSeq);
  const changed = fold.accounts.filter((account) => account.createdSeq < firstSeq);
  if (created.length > 0) {
    await sql`INSERT INTO ${sql.id(schema, 'accounts')} (id, shard, ledger, code, debits_must_not_exceed_credits, credits_must_not_exceed_debits, user_data,
        debits_pending, debits_posted, credits_pending, credits_posted, created_seq, created_at, seq, updated_at)
      SELECT * FROM unnest(${created.map((a) => a.id)}::text[], ${created.map((a) => a.shard)}::integer[], ${created.map((a) => a.ledger)}::bigint[],
        ${created.map((a) => a.code)}::bigint[], ${created.map((a) => a.debitsMustNotExceedCredits)}::boolean[], ${created.map((a) => a.creditsMustNotExceedDebits)}::boolean[],
        ${created.map((a) => a.userData)}::text[], ${created.map((a) => a.debitsPending.toString())}::numeric[], ${created.map((a) => a.debitsPosted.toString())}::numeric[],
        ${created.map((a) => a.creditsPending.toString())}::numeric[], ${created.map((a) => a.creditsPosted.toString())}::numeric[],
        ${created.map((a) => a.createdSeq)}::bigint[], ${created.map((a) => a.createdAt)}::timestamptz[], ${created.map((a) => a.seq)}::bigint[],
        ${created.map((a) => a.updatedAt)}::timestamptz[])`.execute(transaction);
  }
  if (changed.length > 0) {
    const result = await sql`UPDATE ${sql.id(schema, 'accounts')} AS a
      SET debits_pending = u.debits_pending, debits_posted = u.debits_posted, credits_pending = u.credits_pending, credits_posted = u.credits_posted,
        seq = u.seq, updated_at = u.updated_at
      FROM unnest(${changed.map((a) => a.id)}::text[], ${changed.map((a) => a.debitsPending.toString())}::numeric[], ${changed.map((a) => a.debitsPosted.toString())}::numeric[],
        ${changed.map((a) => a.creditsPending.toString())}::numeric[], ${changed.map((a) => a.creditsPosted.toString())}::numeric[],
        ${changed.map((a) => a.seq)}::bigint[], ${changed.map((a) => a.updatedAt)}::timestamptz[]) AS u(id, debits_pending, debits_posted, credits_pending, credits_posted, seq, updated_at)
      WHERE a.id = u.id`.execute(transaction);
    assert.equal(Number(result.numAffectedRows), changed.length, 'every changed account exists (loaded under the checkpoint lock)');
  }
  const transfers = fold.newTransfers;
  if (transfers.length > 0) {
    await sql`INSERT INTO ${sql.id(schema, 'transfers')} (id, shard, kind, debit_account_id, credit_account_id, amount, ledger, code, user_data, status,
        pending_id, pending_amount, timeout_seconds, timeout_at, resolved_by, seq, occurred_at, status_seq, status_changed_at)
      SELECT * FROM unnest(${transfers.map((t) => t.id)}::text[], ${transfers.map((t) => t.shard)}::integer[], ${transfers.map((t) => t.kind)}::text[],
        ${transfers.map((t) => t.debitAccountId)}::text[], ${transfers.map((t) => t.creditAccountId)}::text[], ${transfers.map((t) => t.amount.toString())}::bigint[],
        ${transfers.map((t) => t.ledger)}::bigint[], ${transfers.map((t) => t.code)}::bigint[], ${transfers.map((t) => t.userData)}::text[], ${transfers.map((t) => t.status)}::text[],
        ${transfers.map((t) => t.pendingId)}::text[], ${transfers.map((t) => t.pendingAmount?.toString() ?? null)}::bigint[], ${transfers.map((t) => t.timeoutSeconds)}::bigint[],
        ${transfers.map((t) => t.timeoutAt)}::timestamptz[], ${transfers.map((t) => t.resolvedBy)}::text[], ${transfers.map((t) => t.seq)}::bigint[],
        ${transfers.map((t) => t.occurredAt)}::timestamptz[], ${transfers.map((t) => t.statusSeq)}::bigint[], ${transfers.map((t) => t.statusChangedAt)}::timestamptz[])`.execute(transaction);
  }
  const changes = fold.statusChanges;
  if (changes.length > 0) {
    const result = await sql`UPDATE ${sql.id(schema, 'transfers')} AS t
      SET status = u.status, resolved_by = u.resolved_by, status_seq = u.status_seq, status_changed_at = u.status_changed_at
      FROM unnest(${changes.map((c) => c.id)}::text[], ${changes.map((c) => c.status)}::text[], ${changes.map((c) => c.resolvedBy)}::text[],
        ${changes.map((c) => c.statusSeq)}::bigint[], ${changes.map((c) => c.statusChangedAt)}::timestamptz[]) AS u(id, status, resolved_by, status_seq, status_changed_at)
      WHERE t.id = u.id AND t.status = 'pending'`.execute(transaction);
    assert.equal(Number(result.numAffectedRows), changes.length, 'every resolved transfer was pending (loaded under the checkpoint lock)');
  }
  const entries = fold.entries;
  if (entries.length > 0) {
    await sql`INSERT INTO ${sql.id(schema, 'account_entries')} (account_id, seq, shard, transfer_id, kind, direction, amount, pending_change, posted_change, balance_after, occurred_at)
      SELECT * FROM unnest(${entries.map((e) => e.accountId)}::text[], ${entries.map((e) => e.seq)}::bigint[], ${entries.map((e) => e.shard)}::integer[],
        ${entries.map((e) => e.transferId)}::text[], ${entries.map((e) => e.kind)}::text[], ${entries.map((e) => e.direction)}::text[],
        ${entries.map((e) => e.amount.toString())}::bigint[], ${entries.map((e) => e.pendingChange.toString())}::bigint[], ${entries.map((e) => e.postedChange.toString())}::bigint[],
        ${entries.map((e) => e.balanceAfter.toString())}::numeric[], ${entries.map((e) => e.occurredAt)}::timestamptz[])`.execute(transaction);
  }
  const totals = fold.dailyTotals;
  if (totals.length > 0) {
    await sql`INSERT INTO ${sql.id(schema, 'daily_totals')} AS d (account_id, day, ledger, debits, credits, closing_balance, seq)
      SELECT * FROM unnest(${totals.map((t) => t.accountId)}::text[], ${totals.map((t) => t.day)}::date[], ${totals.map((t) => t.ledger)}::bigint[],
        ${totals.map((t) => t.debits.toString())}::numeric[], ${totals.map((t) => t.credits.toString())}::numeric[], ${totals.map((t) => t.closingBalance.toString())}::numeric[],
        ${totals.map((t) => t.seq)}::bigint[])
      ON CONFLICT (account_id, day) DO UPDATE SET debits = d.debits + excluded.debits, credits = d.credits + excluded.credits,
        closing_balance = excluded.closing_balance, seq = excluded.seq`.execute(transaction);
  }
}
