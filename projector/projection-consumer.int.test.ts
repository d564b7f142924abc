/**
 * The projection consumer on real Kafka and Postgres: three partitions, one healthy, one with a
 * gap, one with a malformed event. The healthy one projects to its last seq and notifies
 * listeners; the other two stop with the documented error (health and metrics show them); a
 * second database fed from the same topic gets identical tables, and replaying the whole topic
 * again into the first changes nothing.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import type { Kafka } from 'kafkajs';
import type { EnvelopeMessage } from '../common/events/envelope.ts';
import { createKafka } from '../common/kafka/client.ts';
import { createLogger } from '../common/logger.ts';
import { createTestDatabase, uniqueName, uniqueTopic, type TestDatabase } from '../test/support/isolation.ts';
import { buildProjectorApp } from './app.ts';
import { checkpointChannel } from './batch-apply.ts';
import { ProjectorMetrics } from './metrics.ts';
import { ProjectionConsumer } from './projection-consumer.ts';
import { dumpVersion } from './test/read-model-dump.ts';
import { generateHistory, historyMessages } from './test/ledger-history.ts';
import { createTopic, publish, waitUntil } from './test/publish.ts';

const log = createLogger('projector-consumer-test', 'silent');
const waitMs = 60_000;

describe('projection consumer', () => {
  let kafka: Kafka;
  const topic = uniqueTopic('projector.consumer');
  const databases: TestDatabase<unknown>[] = [];
  const consumers: ProjectionConsumer[] = [];
  let healthy: EnvelopeMessage[];
  let gapped: EnvelopeMessage[];
  let malformed: EnvelopeMessage[];

  const start = async (database: TestDatabase<unknown>, metrics = new ProjectorMetrics()) => {
    const consumer = new ProjectionConsumer({ kafka, topic, groupId: uniqueName('projector'), db: database.db, log, metrics, target: { kind: 'live' }, eventsPerBatch: 400, partitionsConcurrentlyMax: 3 });
    consumers.push(consumer);
    await consumer.start();
    return consumer;
  };

  beforeAll(async () => {
    kafka = createKafka({ clientId: 'projector-consumer-test', brokers: inject('kafkaBrokers'), log });
    await createTopic(kafka, topic, 3);
    healthy = historyMessages(generateHistory({ seed: 1, shard: 0, accounts: 30, transfers: 2_500 }));
    const second = historyMessages(generateHistory({ seed: 2, shard: 1, accounts: 10, transfers: 300 }));
    gapped = [...second.slice(0, 100), ...second.slice(101)]; // seq 101 never published
    const third = historyMessages(generateHistory({ seed: 3, shard: 2, accounts: 10, transfers: 300 }));
    const broken = JSON.parse(third[50]!.value) as Record<string, unknown>;
    malformed = [...third.slice(0, 50), { ...third[50]!, value: JSON.stringify({ ...broken, occurredAt: 'yesterday' }) }, ...third.slice(51)];
    await Promise.all([
      publish(kafka, topic, healthy, uniqueName('tx0')),
      publish(kafka, topic, gapped, uniqueName('tx1')),
      publish(kafka, topic, malformed, uniqueName('tx2')),
    ]);
    databases.push(await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_consumer_a'));
    databases.push(await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_consumer_b'));
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.stop().catch(() => undefined);
    for (const database of databases) await database.drop();
  });

  it('projects the healthy partition, stops the gap and the malformed event with their errors, and notifies', async () => {
    const [database] = databases;
    const listener = new pg.Client({ connectionString: database!.url });
    await listener.connect();
    const notified: { projection: string; shard: number; seq: number }[] = [];
    listener.on('notification', (message) => notified.push(JSON.parse(message.payload ?? '{}')));
    await listener.query(`LISTEN ${checkpointChannel}`);

    const metrics = new ProjectorMetrics();
    const consumer = await start(database!, metrics);
    const lastSeq = JSON.parse(healthy.at(-1)!.value).seq as number;
    await waitUntil(() => consumer.partitions().find((p) => p.shard === 0)?.checkpointSeq === lastSeq && consumer.stoppedPartitions().length === 2, waitMs, 'shard 0 at its last seq and two stops');

    expect(consumer.stoppedPartitions()).toEqual([
      { code: 'seq_gap', shard: 1, seq: 102, offset: '100', reason: 'expected seq 101, got 102 (missing 1 events)' },
      { code: 'invalid_envelope', shard: 2, seq: 51, offset: '50', reason: 'occurredAt must be an ISO-8601 UTC timestamp with milliseconds' },
    ]);
    const checkpoints = await sql<{ shard: number; seq: string }>`SELECT shard, seq FROM ledger.checkpoints ORDER BY shard`.execute(database!.db);
    expect(checkpoints.rows).toEqual([{ shard: 0, seq: String(lastSeq) }, { shard: 1, seq: '100' }, { shard: 2, seq: '50' }]);

    await waitUntil(() => notified.some((n) => n.shard === 0 && n.seq === lastSeq), 5_000, 'the notification of the last checkpoint');
    expect(notified.filter((n) => n.shard === 0).map((n) => n.seq)).toEqual([...notified.filter((n) => n.shard === 0).map((n) => n.seq)].sort((a, b) => a - b));
    expect(notified.find((n) => n.shard === 1 && n.seq === 100)).toEqual({ projection: 'ledger_v1', shard: 1, seq: 100 });
    await listener.end();

    const app = buildProjectorApp({ db: database!.db, log, metrics, partitions: () => consumer.partitions() });
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ status: 'degraded', database: true, stoppedPartitions: [{ shard: 1, seq: 102, code: 'seq_gap' }, { shard: 2, seq: 51, code: 'invalid_envelope' }] });
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toContain('projector_partition_stopped{shard="1",code="seq_gap"} 1');
    expect(text).toContain('projector_partition_stopped{shard="2",code="invalid_envelope"} 1');
    expect(text).toContain(`projector_checkpoint_seq{shard="0"} ${lastSeq}`);
    expect(text).toMatch(/projector_batch_duration_seconds_count\{shard="0"\} [1-9]/);
    await app.close();
  });

  it('a second database fed from the same topic gets identical tables; replaying the whole topic again changes nothing', async () => {
    const [first, second] = databases;
    const consumer = await start(second!);
    const lastSeq = JSON.parse(healthy.at(-1)!.value).seq as number;
    await waitUntil(() => consumer.partitions().find((p) => p.shard === 0)?.checkpointSeq === lastSeq && consumer.stoppedPartitions().length === 2, waitMs, 'the second database to catch up');
    const dump = await dumpVersion(first!.db, 'ledger_v1');
    expect(dump.transfers!.length).toBeGreaterThan(100_000);
    expect(await dumpVersion(second!.db, 'ledger_v1')).toEqual(dump);

    // Forget the Kafka offsets so a new consumer reads every message from offset 0 again.
    await sql`UPDATE ledger.projection_checkpoints SET kafka_offset = -1`.execute(first!.db);
    const metrics = new ProjectorMetrics();
    const replay = await start(first!, metrics);
    const healthyCount = healthy.length;
    await waitUntil(async () => (await metrics.duplicatesSkipped.get()).values.find((v) => v.labels.shard === '0')?.value === healthyCount && replay.stoppedPartitions().length === 2, waitMs, 'the replay of shard 0');
    expect(await dumpVersion(first!.db, 'ledger_v1')).toEqual(dump);
    expect(replay.stoppedPartitions().map((stop) => [stop.shard, stop.code])).toEqual([[1, 'seq_gap'], [2, 'invalid_envelope']]);
  });
});

