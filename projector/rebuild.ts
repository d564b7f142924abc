/**
 * Projection rebuild (issue 6, DESIGN.md §6): builds a new read-model version into a shadow schema
 * from seq 1 while the live version keeps serving, catches up to live, verifies the ledger
 * invariants and switches the stable views in one transaction. A failed verification leaves the
 * live version untouched, marks the new one `failed` and says why.
 *
 *   1. create `ledger_v<N+1>` with the live version's tables (`LIKE … INCLUDING ALL`, same
 *      fillfactor), registered as `building` (an abandoned earlier build is dropped first);
 *   2. consume the topic from the beginning into it with its own consumer group (target
 *      `version`: no switch lock, no notifications), reporting progress (events/s, ETA);
 *   3. when it is within one batch of the live checkpoints, take the switch lock exclusively —
 *      live batches take it shared, so the live version stops moving while readers keep reading —
 *      wait until the new version has reached every live checkpoint, stop its consumer;
 *   4. verify the invariants (read-model-invariants.ts); on failure roll back (live untouched);
 *   5. `ledger.point_views_at(new)`, old version `retired`, new one `live`, notify each shard's
 *      checkpoint, commit. The live projector's next batch finds the new version live and goes on
 *      from its checkpoint (what it already holds is skipped by seq). The retired schema stays
 *      for inspection; drop it by hand when no longer wanted.
 */
import assert from 'node:assert/strict';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../common/logger.ts';
import { checkpointChannel, versionSwitchLockKey } from './batch-apply.ts';
import { ProjectorMetrics } from './metrics.ts';
import { ProjectionConsumer } from './projection-consumer.ts';
import { verifyReadModel, type InvariantViolation } from './read-model-invariants.ts';

export const readModelTables = ['accounts', 'transfers', 'account_entries', 'daily_totals'] as const;
export const progressIntervalMs = 500;
/** How long the switch may hold the live version still while the new one reaches it. */
export const switchCatchUpTimeoutMs = 60_000;
/** Longest rebuild before giving up. */
export const rebuildTimeoutMs = 6 * 60 * 60_000;

export interface RebuildOptions {
  readonly db: Kysely<unknown>;
  readonly kafka: Kafka;
  readonly topic: string;
  readonly shards: number;
  readonly log: Logger;
  /** One progress line (a bar, events/s, ETA), called every progressIntervalMs. */
  readonly progress: (line: string) => void;
  readonly eventsPerBatch?: number;
  readonly groupId?: string;
  /** Test seam: runs inside the switch transaction just before verification. */
  readonly beforeVerify?: (transaction: Transaction<unknown>, versionSchema: string) => Promise<void>;
}

export type RebuildResult =
  | { readonly outcome: 'switched'; readonly versionSchema: string; readonly previousSchema: string; readonly events: number; readonly seconds: number }
  | { readonly outcome: 'verification_failed'; readonly versionSchema: string; readonly violations: readonly InvariantViolation[] };

export async function rebuild(options: RebuildOptions): Promise<RebuildResult> {
  const { db, log } = options;
  const started = performance.now();
  const { versionSchema, liveSchema } = await createVersion(db, log);
  let transferEvents = 0;
  let events = 0;
  let fatal: unknown;
  const consumer = new ProjectionConsumer({
    kafka: options.kafka, topic: options.topic, groupId: options.groupId ?? `ledger-rebuild-${versionSchema}-${Date.now().toString(36)}`,
    db, log, metrics: new ProjectorMetrics(), target: { kind: 'version', versionSchema }, eventsPerBatch: options.eventsPerBatch,
    partitionsConcurrentlyMax: Math.min(options.shards, 4),
    onBatch: (_shard, outcome) => {
      transferEvents += outcome.transfersCreated;
      events += outcome.applied;
    },
    onFatal: (error) => {
      fatal = error;
    },
  });
  const failed = new Promise<never>((_resolve, reject) => {
    void consumer.start().catch(reject);
  });
  failed.catch((error: unknown) => {
    fatal = error;
  });
  try {
    await followUntilClose(options, versionSchema, () => events, () => fatal);
    return await db.transaction().execute(async (transaction) => {
      await sql`SELECT pg_advisory_xact_lock(${versionSwitchLockKey})`.execute(transaction);
      const deadline = Date.now() + switchCatchUpTimeoutMs;
      while (!(await caughtUp(transaction, versionSchema, options.shards, 0))) {
        if (fatal !== undefined) throw fatal;
        if (Date.now() > deadline) throw new Error(`${versionSchema} did not reach the live checkpoints within ${switchCatchUpTimeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await consumer.stop();
      await options.beforeVerify?.(transaction, versionSchema);
      const violations = await verifyReadModel(transaction, versionSchema, transferEvents);
      if (violations.length > 0) {
        log.error({ versionSchema, violations }, 'verification failed: the live version stays');
        // Roll back the switch transaction (the live version is untouched), then record the failure.
        throw new VerificationFailed(violations);
      }
      await sql`SELECT ledger.point_views_at(${versionSchema})`.execute(transaction);
      await sql`UPDATE ledger.read_model_versions SET status = 'retired' WHERE status = 'live'`.execute(transaction);
      await sql`UPDATE ledger.read_model_versions SET status = 'live', switched_at = now(), note = 'rebuilt and verified' WHERE version_schema = ${versionSchema}`.execute(transaction);
      const checkpoints = await sql<{ shard: number; seq: string }>`SELECT shard, seq FROM ledger.projection_checkpoints WHERE projection = ${versionSchema}`.execute(transaction);
      for (const row of checkpoints.rows) {
        await sql`SELECT pg_notify(${checkpointChannel}, ${JSON.stringify({ projection: versionSchema, shard: row.shard, seq: Number(row.seq) })})`.execute(transaction);
      }
      const seconds = (performance.now() - started) / 1_000;
      log.info({ versionSchema, previousSchema: liveSchema, events, seconds }, 'switched the views to the rebuilt version');
      return { outcome: 'switched' as const, versionSchema, previousSchema: liveSchema, events, seconds };
    }).catch(async (error: unknown) => {
      if (!(error instanceof VerificationFailed)) throw error;
      await sql`UPDATE ledger.read_model_versions SET status = 'failed', note = ${`verification failed: ${error.violations.map((violation) => `${violation.check}: ${violation.detail}`).join('; ')}`.slice(0, 2_000)}
        WHERE version_schema = ${versionSchema}`.execute(db);
      return { outcome: 'verification_failed' as const, versionSchema, violations: error.violations };
    });
  } finally {
    await consumer.stop();
  }
}

class VerificationFailed extends Error {
  readonly violations: readonly InvariantViolation[];
  constructor(violations: readonly InvariantViolation[]) {
    super(`verification failed: ${violations.map((violation) => violation.check).join(', ')}`);
    this.violations = violations;
  }
}

async function createVersion(db: Kysely<unknown>, log: Logger): Promise<{ versionSchema: string; liveSchema: string }> {
  return await db.transaction().execute(async (transaction) => {
    const versions = await sql<{ version_schema: string; status: string }>`SELECT version_schema, status FROM ledger.read_model_versions FOR UPDATE`.execute(transaction);
    const live = versions.rows.find((row) => row.status === 'live');
    assert(live !== undefined, 'a live read-model version exists (migrations ran)');
    for (const abandoned of versions.rows.filter((row) => row.status === 'building')) {
      log.warn({ versionSchema: abandoned.version_schema }, 'dropping an abandoned rebuild');
      await sql`DROP SCHEMA IF EXISTS ${sql.id(abandoned.version_schema)} CASCADE`.execute(transaction);
      await sql`UPDATE ledger.read_model_versions SET status = 'failed', note = 'abandoned build, dropped' WHERE version_schema = ${abandoned.version_schema}`.execute(transaction);
    }
    const next = Math.max(...versions.rows.map((row) => Number(row.version_schema.replace('ledger_v', '')))) + 1;
    const versionSchema = `ledger_v${next}`;
    await sql`DROP SCHEMA IF EXISTS ${sql.id(versionSchema)} CASCADE`.execute(transaction);
    await sql`CREATE SCHEMA ${sql.id(versionSchema)}`.execute(transaction);
    for (const table of readModelTables) {
      await sql`CREATE TABLE ${sql.id(versionSchema, table)} (LIKE ${sql.id(live.version_schema, table)} INCLUDING ALL)`.execute(transaction);
      const options = await sql<{ option: string }>`SELECT unnest(reloptions) AS option FROM pg_class WHERE oid = ${`${live.version_schema}.${table}`}::regclass`.execute(transaction);
      for (const { option } of options.rows) {
        const [name, value] = option.split('=');
        if (name === 'fillfactor' && value !== undefined && /^\d+$/.test(value)) await sql`ALTER TABLE ${sql.id(versionSchema, table)} SET (fillfactor = ${sql.raw(value)})`.execute(transaction);
      }
    }
    await sql`INSERT INTO ledger.read_model_versions (version_schema, status, note) VALUES (${versionSchema}, 'building', 'rebuild in progress')
      ON CONFLICT (version_schema) DO UPDATE SET status = 'building', note = 'rebuild in progress', created_at = now(), switched_at = NULL`.execute(transaction);
    log.info({ versionSchema, liveSchema: live.version_schema }, 'building a new read-model version');
    return { versionSchema, liveSchema: live.version_schema };
  });
}

async function checkpointsOf(db: Kysely<unknown>, projection: string | undefined): Promise<Map<number, number>> {
  const result = projection === undefined
    ? await sql<{ shard: number; seq: string }>`SELECT shard, seq FROM ledger.checkpoints`.execute(db)
    : await sql<{ shard: number; seq: string }>`SELECT shard, seq FROM ledger.projection_checkpoints WHERE projection = ${projection}`.execute(db);
  return new Map(result.rows.map((row) => [row.shard, Number(row.seq)]));
}

async function caughtUp(db: Kysely<unknown>, versionSchema: string, shards: number, slack: number): Promise<boolean> {
  const live = await checkpointsOf(db, undefined);
  const built = await checkpointsOf(db, versionSchema);
  for (let shard = 0; shard < shards; shard += 1) {
    if ((built.get(shard) ?? 0) + slack < (live.get(shard) ?? 0)) return false;
  }
  return true;
}

/** Reports progress until the new version is within one batch of live on every shard. */
async function followUntilClose(options: RebuildOptions, versionSchema: string, applied: () => number, fatal: () => unknown): Promise<void> {
  const started = performance.now();
  const deadline = Date.now() + rebuildTimeoutMs;
  const slack = options.eventsPerBatch ?? 5_000;
  while (true) {
    const error = fatal();
    if (error !== undefined) throw error;
    const live = [...(await checkpointsOf(options.db, undefined)).values()].reduce((sum, seq) => sum + seq, 0);
    const done = applied();
    const seconds = (performance.now() - started) / 1_000;
    options.progress(progressLine(versionSchema, done, live, seconds));
    if (await caughtUp(options.db, versionSchema, options.shards, slack)) return;
    if (Date.now() > deadline) throw new Error(`rebuild did not catch up within ${rebuildTimeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, progressIntervalMs));
  }
}

export function progressLine(versionSchema: string, done: number, total: number, seconds: number, width = 30): string {
  const fraction = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(fraction * width);
  const rate = seconds > 0 ? done / seconds : 0;
  const eta = rate > 0 ? Math.max(0, (total - done) / rate) : undefined;
  return `rebuild ${versionSchema} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% `
    + `${done.toLocaleString('en')}/${total.toLocaleString('en')} events · ${Math.round(rate).toLocaleString('en')} events/s · ETA ${eta === undefined ? '?' : `${Math.ceil(eta)} s`}`;
}
