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
import type { Consumer, Kafka } from 'kafkajs';
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


describe('projection consumer that loses its Kafka position', () => {
  const topic = uniqueTopic('projector.reread');
  const databases: TestDatabase<unknown>[] = [];
  const consumers: ProjectionConsumer[] = [];

  afterAll(async () => {
    for (const consumer of consumers) await consumer.stop().catch(() => undefined);
    for (const database of databases) await database.drop();
  });

  it('reads the partition again from its checkpoint instead of stopping when the consumer jumps past unapplied messages', async () => {
    const kafka = createKafka({ clientId: 'projector-reread-test', brokers: inject('kafkaBrokers'), log });
    await createTopic(kafka, topic, 1);
    const history = historyMessages(generateHistory({ seed: 4, shard: 0, accounts: 10, transfers: 200 }));
    const seqOf = (message: EnvelopeMessage) => JSON.parse(message.value).seq as number;
    await publish(kafka, topic, history.slice(0, 100), uniqueName('reread-a'));
    // The kafkajs consumer the projection makes, so the test can move its position behind its back.
    const made: Consumer[] = [];
    const watched = Object.create(kafka) as Kafka;
    watched.consumer = (config) => {
      const consumer = kafka.consumer(config);
      made.push(consumer);
      return consumer;
    };
    const database = await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_reread');
    databases.push(database);
    const consumer = new ProjectionConsumer({ kafka: watched, topic, groupId: uniqueName('projector'), db: database.db, log, metrics: new ProjectorMetrics(), target: { kind: 'live' }, eventsPerBatch: 40 });
    consumers.push(consumer);
    await consumer.start();
    const checkpoint = () => consumer.partitions().find((p) => p.shard === 0)?.checkpointSeq;
    await waitUntil(() => checkpoint() === seqOf(history[99]!), waitMs, 'the first 100 events');

    // Offsets 0..99 hold seq 1..100 and 100 their commit marker; the next transaction takes 101..150.
    made[0]!.pause([{ topic, partitions: [0] }]);
    await publish(kafka, topic, history.slice(100, 150), uniqueName('reread-b'));
    made[0]!.seek({ topic, partition: 0, offset: '131' }); // lose 30 committed, unapplied events
    made[0]!.resume([{ topic, partitions: [0] }]);
    await waitUntil(() => checkpoint() === seqOf(history[149]!) || consumer.stoppedPartitions().length > 0, waitMs, 'the next 50 events or a stop');
    expect(consumer.stoppedPartitions()).toEqual([]);
    expect(checkpoint()).toBe(seqOf(history[149]!));

    // The same tables as a projection that never lost its place.
    const clean = await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_reread_clean');
    databases.push(clean);
    const reference = new ProjectionConsumer({ kafka, topic, groupId: uniqueName('projector'), db: clean.db, log, metrics: new ProjectorMetrics(), target: { kind: 'live' } });
    consumers.push(reference);
    await reference.start();
    await waitUntil(() => reference.partitions().find((p) => p.shard === 0)?.checkpointSeq === seqOf(history[149]!), waitMs, 'the reference projection');
    expect(await dumpVersion(database.db, 'ledger_v1')).toEqual(await dumpVersion(clean.db, 'ledger_v1'));
  });
});
