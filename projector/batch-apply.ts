/**
 * The imperative shell around the pure batch core: applies one batch of one partition to a
 * read-model version in ONE Postgres transaction together with its checkpoint, then notifies
 * readers. Round trips are what a small batch (a caught-up projector) pays for, so a batch is:
 *
 *   1. BEGIN; `synchronous_commit` off and (live target) the version-switch lock taken shared;
 *   2. lock the checkpoint row of the live version (projection = version schema, shard) — this
 *      serialises two projectors that both think they own the partition during a rebalance.
 *      For the live target 1–2 are one round trip (three statements sent together);
 *   3. selectBatch: decode, skip duplicates, stop at a gap or a bad envelope;
 *   4. the touched accounts and the pending transfers the batch resolves: from the partition cache
 *      when it is at exactly this checkpoint (partition-cache.ts), the misses from Postgres (one
 *      query each); foldBatch in memory;
 *   5. new transfers and account entries by COPY FROM STDIN (copy-rows.ts: no array escaping,
 *      row parsing on the server), then ONE statement writes the rest — accounts, status changes,
 *      daily totals (each `INSERT … SELECT FROM unnest(…)` / `UPDATE … FROM unnest(…)` in a
 *      data-modifying CTE), advances the checkpoint (seq and Kafka offset) and
 *      `pg_notify('ledger_checkpoint', …)`;
 *   6. COMMIT.
 * A stop (gap, bad event, inconsistent event) still commits the events before it.
 *
 * Steps 3–4 and the COPY data may have been made ahead (`prepareBatch`, from the cache only, while
 * the previous batch was written): such a fold is used only if step 2 locks the checkpoint it was
 * made at and the cache is still there.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type pg from 'pg';
import { withClientTransaction } from '../common/database/connect.ts';
import { foldBatch, foldSteps, idsTouched, type AccountRow, type BatchFold, type ExistingTransfer, type TransferKind, type TransferStatus } from './batch-fold.ts';
import { selectBatch, type BatchSelection, type PartitionMessage } from './batch-selection.ts';
import { copyChunkSteps, copyIn, entryColumns, entryLine, transferColumns, transferLine } from './copy-rows.ts';
import type { PartitionCache } from './partition-cache.ts';
import type { PartitionStop } from './partition-stop.ts';
import { runAtOnce, runInSlices, type WorkSteps } from './work-slices.ts';

/**
 * Largest number of messages one call applies (bounds memory, statement size and lock time). A
 * caught-up projector applies what has arrived (small batches, low latency); one that is behind
 * takes up to this many, so each touched account and daily total is rewritten once per 100,000
 * events: a large batch's one statement costs about the same whatever its size (it rewrites the
 * touched accounts and daily totals, ~10,000 rows each in the bench), so it is paid once per
 * 100,000 events instead of twice (bench:projector replay: 29.7k against 26.9k events/s at 50,000
 * in an adjacent pair; from 10,000 to 50,000 earlier: +6% and +39%).
 */
export const eventsPerBatchMax = 100_000;

/** pg_advisory lock the rebuild takes exclusively to switch versions; batches take it shared. */
export const versionSwitchLockKey = 7_461_001;

export const checkpointChannel = 'ledger_checkpoint';

export type ApplyTarget = { readonly kind: 'live' } | { readonly kind: 'version'; readonly versionSchema: string };

export interface ApplyOptions {
  readonly shard: number;
  readonly messages: readonly PartitionMessage[];
  readonly target: ApplyTarget;
  /**
   * This partition's cache, when the caller applies the partition's batches one after another
   * (the consumer does). Without it every batch reads its rows from Postgres.
   */
  readonly cache?: PartitionCache;
  /**
   * This batch folded ahead from the cache (`prepareBatch`, same messages). Used only if the
   * checkpoint locked is the one it was folded at and the cache is still there; otherwise the batch
   * is folded again as usual.
   */
  readonly prepared?: PreparedBatch;
  /**
   * Called (each on a later event-loop turn) while Postgres works on this batch: with 'copying'
   * once the COPY of its rows has started, with 'statement' once its last statement has been sent.
   * The caller may fold its next batch then (JavaScript and Postgres overlap).
   */
  readonly whileWriting?: (stage: WritingStage) => void;
}

export type WritingStage = 'copying' | 'statement';

/** Events folded, and rows turned into COPY data, between two turns of the event loop while folding ahead. */
const foldAheadSliceEvents = 2_000;
const copyAheadSliceRows = 5_000;

/** A batch folded from the partition cache alone, before its transaction (see `prepareBatch`). */
export interface PreparedBatch {
  readonly messages: readonly PartitionMessage[];
  readonly versionSchema: string;
  readonly checkpoint: number;
  readonly selection: BatchSelection;
  readonly fold: BatchFold;
  /** The COPY text of the insert-only rows. */
  readonly copy: CopyText;
}

interface CopyText {
  readonly transfers: readonly Buffer[];
  readonly entries: readonly Buffer[];
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
  /** The batch was folded ahead (`prepareBatch`) and that fold was written. */
  readonly foldedAhead: boolean;
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
  assert(Number.isSafeInteger(options.shard) && options.shard >= 0, `shard ${options.shard} must be a non-negative integer`);
  const cache = options.cache;
  let outcome: ApplyOutcome;
  try {
    outcome = await applyInTransaction(db, options, cache);
  } catch (error) {
    cache?.clear();
    // With the cache, a new transfer or account id is checked for duplicates only by the primary
    // key, and a fold that stops may have trusted the cache for what it did not hold. The Decider
    // never emits such events (corrupt topic or a bug): redo the batch reading every row from
    // Postgres, which stops the partition at the offending event with the precise reason.
    if (cache === undefined || !(isUniqueViolation(error) || error instanceof RedoWithoutCache)) throw error;
    outcome = await applyInTransaction(db, { shard: options.shard, messages: options.messages, target: options.target }, undefined);
  }
  if (outcome.stop !== undefined) cache?.clear();
  return outcome;
}

class RedoWithoutCache extends Error {}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

/**
 * Folds a batch ahead from the partition cache alone — no Postgres — at the checkpoint the cache
 * is at, which may belong to a batch still being written (it is checked again under the lock when
 * the prepared batch is applied), and makes its COPY data. Works a slice at a time
 * (work-slices.ts), so the batch being written keeps its COPY stream fed. Undefined when that is not
 * possible: the cache is nowhere, the batch needs a row the cache lacks, nothing is to be applied,
 * or the fold stops (the usual path reports it precisely).
 */
export async function prepareBatch(shard: number, messages: readonly PartitionMessage[], cache: PartitionCache): Promise<PreparedBatch | undefined> {
  const position = cache.position();
  if (position === undefined || messages.length === 0) return undefined;
  const selection = selectBatch(shard, position.seq, messages);
  if (selection.toApply.length === 0 || selection.stop !== undefined) return undefined;
  // Over the cache's own maps: a row the cache lacks stops the fold (undefined: the batch is folded
  // in its transaction, reading the miss from Postgres). The cache cannot advance while this runs
  // (the worker waits for it before its next batch); if a failure clears it meanwhile, the fold is
  // not used (the cache is no longer at `position`).
  const fold = await runInSlices(foldSteps(selection.toApply, cache.rows(), foldAheadSliceEvents));
  if (fold.stop !== undefined) return undefined;
  const copy = await runInSlices(copyTextSteps(fold, copyAheadSliceRows));
  return { messages, versionSchema: position.versionSchema, checkpoint: position.seq, selection, fold, copy };
}

/** The fold's insert-only rows as COPY data, pausing after every `sliceRows` rows of a table (work-slices.ts). */
function* copyTextSteps(fold: BatchFold, sliceRows: number): WorkSteps<CopyText> {
  const transfers = yield* copyChunkSteps(fold.newTransfers, transferLine, sliceRows);
  const entries = yield* copyChunkSteps(fold.entries, entryLine, sliceRows);
  return { transfers, entries };
}

async function applyInTransaction(db: AnyDatabase, options: ApplyOptions, cache: PartitionCache | undefined): Promise<ApplyOutcome> {
  return await withClientTransaction(db, async (transaction, client, opened) => {
    const { versionSchema, checkpoint } = await begin(transaction, options.target, options.shard, opened);
    const prepared = options.prepared;
    const usePrepared = prepared !== undefined && cache !== undefined && prepared.messages === options.messages &&
      prepared.versionSchema === versionSchema && prepared.checkpoint === checkpoint && cache.isAt(versionSchema, checkpoint);
    cache?.beginAt(versionSchema, checkpoint);
    const selection = usePrepared ? prepared.selection : selectBatch(options.shard, checkpoint, options.messages);
    let fold: BatchFold | undefined;
    if (usePrepared) {
      fold = prepared.fold;
    } else if (selection.toApply.length > 0) {
      const ids = idsTouched(selection.toApply);
      const loaded = cache === undefined
        ? { accounts: await loadAccounts(transaction, versionSchema, ids.accountIds), transfers: await loadTransfers(transaction, versionSchema, ids.transferIds) }
        : await loadThroughCache(transaction, versionSchema, cache, ids);
      fold = foldBatch(selection.toApply, loaded);
      if (cache !== undefined && fold.stop !== undefined) throw new RedoWithoutCache();
    }
    // Before the commit: safe, because the next batch trusts the cache only at this batch's
    // checkpoint (i.e. if it committed), and every failure clears it.
    cache?.advance(versionSchema, checkpoint, fold?.applied.at(-1)?.envelope.seq ?? checkpoint, fold);
    const applied = fold?.applied ?? [];
    const last = applied.at(-1);
    const checkpointAfter = last?.envelope.seq ?? checkpoint;
    let stop = selection.stop;
    if (fold?.stop !== undefined) {
      const { envelope, reason } = fold.stop;
      stop = { code: 'inconsistent_event', shard: options.shard, seq: envelope.envelope.seq, offset: envelope.offset, reason: `${envelope.envelope.type}: ${reason}` };
    }
    if (fold !== undefined && last !== undefined) {
      const notification: CheckpointNotification | undefined = options.target.kind === 'live' ? { projection: versionSchema, shard: options.shard, seq: checkpointAfter } : undefined;
      const copy = usePrepared ? prepared.copy : runAtOnce(copyTextSteps(fold, Infinity));
      await writeFold(transaction, client, versionSchema, fold, copy, { shard: options.shard, seq: checkpointAfter, offset: last.offset, notification }, options.whileWriting);
    }
    const resolvedOffset = fold?.stop !== undefined ? last?.offset : selection.lastExaminedOffset;
    return {
      versionSchema, checkpointBefore: checkpoint, checkpointAfter, applied: applied.length, duplicates: selection.duplicates,
      transfersCreated: applied.filter(({ envelope }) => envelope.type === 'TransferCreated' || envelope.type === 'PendingTransferPosted' || envelope.type === 'PendingTransferVoided').length,
      lastOccurredAt: last?.envelope.occurredAt, resolvedOffset, stop, foldedAhead: usePrepared,
    };
  }, openingStatements(options.target, options.shard));
}

/**
 * Steps 1–2 for the live target, sent with BEGIN in one round trip (literals only: the shard is an
 * integer, the lock key a constant). The lock is its own statement: the live version must be read
 * with a snapshot taken after it was granted (a switch that committed while we waited must be seen).
 */
function openingStatements(target: ApplyTarget, shard: number): string | undefined {
  if (target.kind !== 'live') return undefined;
  assert(Number.isSafeInteger(shard) && shard >= 0);
  return `SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock_shared(${versionSwitchLockKey});
    SELECT c.projection, c.seq FROM ledger.projection_checkpoints c
      JOIN ledger.read_model_versions v ON v.version_schema = c.projection AND v.status = 'live'
    WHERE c.shard = ${shard} FOR UPDATE OF c`;
}

/**
 * Steps 1–2: commit without waiting for the WAL flush — the checkpoint commits with the rows, so a
 * commit lost in a Postgres crash is simply re-applied from Kafka (latency, not safety) — take the
 * switch lock shared (live target), find the version and lock its checkpoint row.
 */
async function begin(transaction: Kysely<unknown>, target: ApplyTarget, shard: number, opened: readonly pg.QueryResult[]): Promise<{ versionSchema: string; checkpoint: number }> {
  if (target.kind === 'version') {
    await sql`SELECT set_config('synchronous_commit', 'off', true)`.execute(transaction);
    return { versionSchema: target.versionSchema, checkpoint: await lockCheckpoint(transaction, target.versionSchema, shard) };
  }
  // The switch lock and the checkpoint row were taken with BEGIN (openingStatements).
  assert.equal(opened.length, 2, 'the opening statements answered');
  const locked = opened[1]!.rows as { projection: string; seq: string }[];
  const row = locked[0];
  if (row !== undefined) {
    assert.equal(locked.length, 1, 'exactly one live read-model version');
    return { versionSchema: row.projection, checkpoint: Number(row.seq) };
  }
  // First batch of this shard for the live version: create its checkpoint row.
  const versionSchema = await liveVersion(transaction);
  return { versionSchema, checkpoint: await lockCheckpoint(transaction, versionSchema, shard) };
}

async function liveVersion(transaction: Kysely<unknown>): Promise<string> {
  const live = await sql<{ version_schema: string }>`SELECT version_schema FROM ledger.read_model_versions WHERE status = 'live'`.execute(transaction);
  const row = live.rows[0];
  assert(row !== undefined && live.rows.length === 1, 'exactly one live read-model version');
  return row.version_schema;
}

/** Locks (creating at 0 if absent) the checkpoint row and returns its seq. */
export async function lockCheckpoint(transaction: Kysely<unknown>, versionSchema: string, shard: number): Promise<number> {
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

async function loadAccounts(transaction: Kysely<unknown>, schema: string, ids: readonly string[]): Promise<Map<string, AccountRow>> {
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

async function loadTransfers(transaction: Kysely<unknown>, schema: string, ids: readonly string[]): Promise<Map<string, ExistingTransfer>> {
  if (ids.length === 0) return new Map();
  const result = await sql<{ id: string; kind: TransferKind; status: TransferStatus; debit_account_id: string; credit_account_id: string; amount: string; ledger: string }>`
    SELECT id, kind, status, debit_account_id, credit_account_id, amount, ledger FROM ${sql.id(schema, 'transfers')} WHERE id = ANY(${ids}::text[])`.execute(transaction);
  return new Map(result.rows.map((row) => [row.id, {
    id: row.id, kind: row.kind, status: row.status, debitAccountId: row.debit_account_id, creditAccountId: row.credit_account_id,
    amount: BigInt(row.amount), ledger: Number(row.ledger),
  }]));
}

interface CachedRows {
  readonly accounts: Map<string, Readonly<AccountRow>>;
  readonly transfers: Map<string, ExistingTransfer>;
  /** Rows the batch needs (not those it creates: the primary key finds a duplicate) that the cache lacks. */
  readonly missingAccounts: string[];
  readonly missingTransfers: string[];
}

function fromCache(cache: PartitionCache, ids: ReturnType<typeof idsTouched>): CachedRows {
  const { accountIds, createdAccountIds, createdTransferIds, resolvedTransferIds } = ids;
  const rows: CachedRows = { accounts: new Map(), transfers: new Map(), missingAccounts: [], missingTransfers: [] };
  for (const id of accountIds) {
    const cached = cache.account(id);
    if (cached !== undefined) rows.accounts.set(id, cached);
    else if (!createdAccountIds.has(id)) rows.missingAccounts.push(id);
  }
  for (const id of resolvedTransferIds) {
    const cached = cache.pendingTransfer(id);
    if (cached !== undefined) rows.transfers.set(id, cached);
    else if (!createdTransferIds.has(id)) rows.missingTransfers.push(id);
  }
  return rows;
}

/** The fold's rows: cache hits as they are, misses read from Postgres (one query per table). */
async function loadThroughCache(transaction: Kysely<unknown>, schema: string, cache: PartitionCache, ids: ReturnType<typeof idsTouched>): Promise<{ accounts: Map<string, Readonly<AccountRow>>; transfers: Map<string, ExistingTransfer> }> {
  const rows = fromCache(cache, ids);
  if (rows.missingAccounts.length > 0) for (const [id, row] of await loadAccounts(transaction, schema, rows.missingAccounts)) rows.accounts.set(id, row);
  if (rows.missingTransfers.length > 0) for (const [id, row] of await loadTransfers(transaction, schema, rows.missingTransfers)) rows.transfers.set(id, row);
  return { accounts: rows.accounts, transfers: rows.transfers };
}

interface CheckpointWrite {
  readonly shard: number;
  readonly seq: number;
  readonly offset: string;
  /** Sent in the same statement (delivered on commit); undefined for a version being rebuilt. */
  readonly notification: CheckpointNotification | undefined;
}

/**
 * Step 5: new transfers and account entries by COPY, then ONE statement for the rest — accounts,
 * resolved transfers, daily totals (one data-modifying CTE each), the checkpoint and the
 * notification. The CTEs touch disjoint rows (new accounts vs existing ones), as one statement
 * requires.
 */
async function writeFold(
  transaction: Kysely<unknown>, client: pg.PoolClient, schema: string, fold: BatchFold, copy: CopyText, checkpoint: CheckpointWrite, whileWriting: ((stage: WritingStage) => void) | undefined,
): Promise<void> {
  // Insert-only rows first, by COPY (copy-rows.ts). New transfers and the pending ones the
  // statement below resolves are disjoint: a transfer created and resolved in this batch is
  // copied with its final status. The COPY is on the wire by the next turn of the event loop.
  if (whileWriting !== undefined) setImmediate(() => whileWriting('copying'));
  await copyIn(client, schema, 'transfers', transferColumns, copy.transfers);
  await copyIn(client, schema, 'account_entries', entryColumns, copy.entries);
  const steps: RawBuilder<unknown>[] = [];
  // Accounts created in this batch are inserted; the others exist and get their counters updated
  // (a plain UPDATE, HOT when the page has room: no index changes).
  const firstSeq = fold.applied[0]!.envelope.seq;
  const created = fold.accounts.filter((account) => account.createdSeq >= firstSeq);
  const changed = fold.accounts.filter((account) => account.createdSeq < firstSeq);
  if (created.length > 0) {
    steps.push(sql`new_accounts AS (INSERT INTO ${sql.id(schema, 'accounts')} (id, shard, ledger, code, debits_must_not_exceed_credits, credits_must_not_exceed_debits, user_data,
        debits_pending, debits_posted, credits_pending, credits_posted, created_seq, created_at, seq, updated_at)
      SELECT * FROM unnest(${created.map((a) => a.id)}::text[], ${created.map((a) => a.shard)}::integer[], ${created.map((a) => a.ledger)}::bigint[],
        ${created.map((a) => a.code)}::bigint[], ${created.map((a) => a.debitsMustNotExceedCredits)}::boolean[], ${created.map((a) => a.creditsMustNotExceedDebits)}::boolean[],
        ${created.map((a) => a.userData)}::text[], ${created.map((a) => a.debitsPending.toString())}::numeric[], ${created.map((a) => a.debitsPosted.toString())}::numeric[],
        ${created.map((a) => a.creditsPending.toString())}::numeric[], ${created.map((a) => a.creditsPosted.toString())}::numeric[],
        ${created.map((a) => a.createdSeq)}::bigint[], ${created.map((a) => a.createdAt)}::timestamptz[], ${created.map((a) => a.seq)}::bigint[],
        ${created.map((a) => a.updatedAt)}::timestamptz[]))`);
  }
  if (changed.length > 0) {
    steps.push(sql`changed_accounts AS (UPDATE ${sql.id(schema, 'accounts')} AS a
      SET debits_pending = u.debits_pending, debits_posted = u.debits_posted, credits_pending = u.credits_pending, credits_posted = u.credits_posted,
        seq = u.seq, updated_at = u.updated_at
      FROM unnest(${changed.map((a) => a.id)}::text[], ${changed.map((a) => a.debitsPending.toString())}::numeric[], ${changed.map((a) => a.debitsPosted.toString())}::numeric[],
        ${changed.map((a) => a.creditsPending.toString())}::numeric[], ${changed.map((a) => a.creditsPosted.toString())}::numeric[],
        ${changed.map((a) => a.seq)}::bigint[], ${changed.map((a) => a.updatedAt)}::timestamptz[]) AS u(id, debits_pending, debits_posted, credits_pending, credits_posted, seq, updated_at)
      WHERE a.id = u.id RETURNING 1)`);
  }
  const changes = fold.statusChanges;
  if (changes.length > 0) {
    steps.push(sql`resolved_transfers AS (UPDATE ${sql.id(schema, 'transfers')} AS t
      SET status = u.status, resolved_by = u.resolved_by, status_seq = u.status_seq, status_changed_at = u.status_changed_at
      FROM unnest(${changes.map((c) => c.id)}::text[], ${changes.map((c) => c.status)}::text[], ${changes.map((c) => c.resolvedBy)}::text[],
        ${changes.map((c) => c.statusSeq)}::bigint[], ${changes.map((c) => c.statusChangedAt)}::timestamptz[]) AS u(id, status, resolved_by, status_seq, status_changed_at)
      WHERE t.id = u.id AND t.status = 'pending' RETURNING 1)`);
  }
  const totals = fold.dailyTotals;
  if (totals.length > 0) {
    steps.push(sql`upserted_totals AS (INSERT INTO ${sql.id(schema, 'daily_totals')} AS d (account_id, day, ledger, debits, credits, closing_balance, seq)
      SELECT * FROM unnest(${totals.map((t) => t.accountId)}::text[], ${totals.map((t) => t.day)}::date[], ${totals.map((t) => t.ledger)}::bigint[],
        ${totals.map((t) => t.debits.toString())}::numeric[], ${totals.map((t) => t.credits.toString())}::numeric[], ${totals.map((t) => t.closingBalance.toString())}::numeric[],
        ${totals.map((t) => t.seq)}::bigint[])
      ON CONFLICT (account_id, day) DO UPDATE SET debits = d.debits + excluded.debits, credits = d.credits + excluded.credits,
        closing_balance = excluded.closing_balance, seq = excluded.seq)`);
  }
  steps.push(sql`checkpoint_row AS (UPDATE ledger.projection_checkpoints SET seq = ${checkpoint.seq}, kafka_offset = ${checkpoint.offset}, updated_at = now()
    WHERE projection = ${schema} AND shard = ${checkpoint.shard} RETURNING 1)`);
  const notify = checkpoint.notification === undefined ? sql`NULL` : sql`pg_notify(${checkpointChannel}, ${JSON.stringify(checkpoint.notification)})`;
  const compiled = sql<{ changed_accounts: string; resolved_transfers: string; checkpoints: string }>`WITH ${sql.join(steps, sql`, `)}
    SELECT ${changed.length > 0 ? sql`(SELECT count(*) FROM changed_accounts)` : sql`0`} AS changed_accounts,
      ${changes.length > 0 ? sql`(SELECT count(*) FROM resolved_transfers)` : sql`0`} AS resolved_transfers,
      (SELECT count(*) FROM checkpoint_row) AS checkpoints, ${notify} AS notified`.compile(transaction);
  // A named prepared statement: Postgres plans each shape of this statement (which CTEs it has,
  // which version schema) once per connection instead of once per batch (~1 ms of a small batch).
  const statement = client.query<{ changed_accounts: string; resolved_transfers: string; checkpoints: string }>({
    name: `projector_${createHash('sha1').update(compiled.sql).digest('hex')}`, text: compiled.sql, values: compiled.parameters as unknown[],
  });
  // The statement is on the wire by the next turn of the event loop; Postgres executes it (and
  // then the COMMIT) while the caller may fold its next batch.
  if (whileWriting !== undefined) setImmediate(() => whileWriting('statement'));
  const result = await statement;
  const counts = result.rows[0];
  assert(counts !== undefined);
  assert.equal(Number(counts.changed_accounts), changed.length, 'every changed account exists (read under the checkpoint lock)');
  assert.equal(Number(counts.resolved_transfers), changes.length, 'every resolved transfer was pending (read under the checkpoint lock)');
  assert.equal(Number(counts.checkpoints), 1, 'the checkpoint row exists (locked at the start of the batch)');
}
