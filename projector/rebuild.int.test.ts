/**
 * Rebuild on real Kafka and Postgres, with the live projector running: a new version is built
 * from seq 1, verified and switched in (views now read it, the live projector carries on in it);
 * a rebuild whose result breaks an invariant is refused with the reason and the live version
 * keeps serving, untouched.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql } from 'kysely';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../common/kafka/client.ts';
import { createLogger } from '../common/logger.ts';
import { createTestDatabase, uniqueName, uniqueTopic, type TestDatabase } from '../test/support/isolation.ts';
import { ProjectorMetrics } from './metrics.ts';
import { ProjectionConsumer } from './projection-consumer.ts';
import { progressLine, rebuild } from './rebuild.ts';
import { dumpVersion } from './test/read-model-dump.ts';
import { generateHistory, historyMessages } from './test/ledger-history.ts';
import { createTopic, publish, waitUntil } from './test/publish.ts';

const log = createLogger('projector-rebuild-test', 'silent');

describe('projection rebuild', () => {
  let kafka: Kafka;
  const topic = uniqueTopic('projector.rebuild');
  let database: TestDatabase<unknown>;
  let live: ProjectionConsumer;
  const messages = historyMessages(generateHistory({ seed: 21, shard: 0, accounts: 50, transfers: 4_000 }));
  const firstPart = messages.slice(0, 3_000);
  const lastSeq = messages.length;

  const liveView = async () => (await sql<{ definition: string }>`SELECT definition FROM pg_views WHERE schemaname = 'bi' AND viewname = 'accounts'`.execute(database.db)).rows[0]?.definition;
  const versions = async () => (await sql<{ version_schema: string; status: string }>`SELECT version_schema, status FROM ledger.read_model_versions ORDER BY version_schema`.execute(database.db)).rows;

  beforeAll(async () => {
    kafka = createKafka({ clientId: 'projector-rebuild-test', brokers: inject('kafkaBrokers'), log });
    await createTopic(kafka, topic, 1);
    await publish(kafka, topic, firstPart, uniqueName('rebuild-tx'));
    database = await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_rebuild');
    live = new ProjectionConsumer({ kafka, topic, groupId: uniqueName('live'), db: database.db, log, metrics: new ProjectorMetrics(), target: { kind: 'live' }, eventsPerBatch: 500 });
    await live.start();
    await waitUntil(() => live.partitions()[0]?.checkpointSeq === firstPart.length, 60_000, 'the live projection');
  });

  afterAll(async () => {
    await live?.stop();
    await database?.drop();
  });

  it('draws a progress bar with events/s and ETA', () => {
    expect(progressLine('ledger_v2', 250, 1_000, 2, 10)).toBe('rebuild ledger_v2 [###.......]  25% 250/1,000 events · 125 events/s · ETA 6 s');
  });

  it('builds ledger_v2 beside the live version, verifies it and switches the views; the live projector continues in it', async () => {
    const lines: string[] = [];
    const result = await rebuild({ db: database.db, kafka, topic, shards: 1, log, progress: (line) => lines.push(line), eventsPerBatch: 700 });
    expect(result).toMatchObject({ outcome: 'switched', versionSchema: 'ledger_v2', previousSchema: 'ledger_v1', events: firstPart.length });
    expect(lines.at(-1)).toMatch(/^rebuild ledger_v2 \[/);
    expect(await versions()).toEqual([{ version_schema: 'ledger_v1', status: 'retired' }, { version_schema: 'ledger_v2', status: 'live' }]);
    expect(await liveView()).toContain('ledger_v2.accounts');
    expect(await dumpVersion(database.db, 'ledger_v2')).toEqual(await dumpVersion(database.db, 'ledger_v1'));

    await publish(kafka, topic, messages.slice(3_000), uniqueName('rebuild-tx2'));
    await waitUntil(async () => (await sql<{ seq: string }>`SELECT seq FROM ledger.checkpoints`.execute(database.db)).rows[0]?.seq === String(lastSeq), 60_000, 'the live projector to continue in ledger_v2');
    const v1 = await sql<{ seq: string }>`SELECT seq FROM ledger.projection_checkpoints WHERE projection = 'ledger_v1'`.execute(database.db);
    expect(v1.rows).toEqual([{ seq: String(firstPart.length) }]);
    const balances = await sql<{ n: string }>`SELECT count(*) AS n FROM bi.transfers`.execute(database.db);
    expect(Number(balances.rows[0]!.n)).toBeGreaterThan(3_000);
  });

  it('refuses a version that breaks an invariant and leaves the live one untouched', async () => {
    const before = await dumpVersion(database.db, 'ledger_v2');
    const result = await rebuild({
      db: database.db, kafka, topic, shards: 1, log, progress: () => undefined, eventsPerBatch: 1_000,
      beforeVerify: async (transaction, versionSchema) => {
        await sql`UPDATE ${sql.id(versionSchema, 'accounts')} SET credits_posted = credits_posted + 1 WHERE id = 's0-acct-1'`.execute(transaction);
      },
    });
    expect(result.outcome).toBe('verification_failed');
    if (result.outcome !== 'verification_failed') return;
    expect(result.versionSchema).toBe('ledger_v3');
    expect(result.violations.map((violation) => violation.check)).toEqual(['ledger_balanced', 'account_counters_match_entries']);
    expect(result.violations[1]?.detail).toMatch(/^account s0-acct-1: counters /);
    expect(await versions()).toEqual([{ version_schema: 'ledger_v1', status: 'retired' }, { version_schema: 'ledger_v2', status: 'live' }, { version_schema: 'ledger_v3', status: 'failed' }]);
    expect(await liveView()).toContain('ledger_v2.accounts');
    expect(await dumpVersion(database.db, 'ledger_v2')).toEqual(before);
  });
});
