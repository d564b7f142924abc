/**
 * The projection consumer rides out a Postgres outage: its connections go through a TCP proxy that
 * the test cuts (every connection dropped, new ones refused) while events keep arriving. The
 * consumer keeps running, and once Postgres answers again it applies the failed batch again and
 * goes on — with no seq gap to heal — and ends with exactly the tables a consumer that saw no
 * outage builds. A consumer that joins while Postgres is away seeks to its checkpoint once Postgres
 * answers. Stopping does not wait for the current backoff step. An outage longer than the bound
 * is fatal (crash-only, as before).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import type { Kysely } from 'kysely';
import type { EnvelopeMessage } from '../common/events/envelope.ts';
import { createDatabase } from '../common/database/connect.ts';
import { createKafka } from '../common/kafka/client.ts';
import { createLogger } from '../common/logger.ts';
import { createTestDatabase, uniqueName, uniqueTopic, type TestDatabase } from '../test/support/isolation.ts';
import { TcpProxy } from '../writer/transport/tcp-proxy.ts';
import { ProjectorMetrics } from './metrics.ts';
import { ProjectionConsumer } from './projection-consumer.ts';
import { dumpVersion } from './test/read-model-dump.ts';
import { generateHistory, historyMessages } from './test/ledger-history.ts';
import { createTopic, publish, waitUntil } from './test/publish.ts';

const log = createLogger('projector-outage-test', 'silent');
const waitMs = 60_000;
const seqOf = (message: EnvelopeMessage) => JSON.parse(message.value).seq as number;

describe('projection consumer during a Postgres outage', () => {
  let kafka: Kafka;
  const databases: TestDatabase<unknown>[] = [];
  const consumers: ProjectionConsumer[] = [];
  const proxies: TcpProxy[] = [];
  const proxiedDbs: Kysely<unknown>[] = [];

  /** A database reached through a proxy the test can cut. */
  const proxiedDatabase = async (prefix: string): Promise<{ database: TestDatabase<unknown>; db: Kysely<unknown>; proxy: TcpProxy }> => {
    const database = await createTestDatabase<unknown>(inject('databaseUrl'), prefix);
    databases.push(database);
    const url = new URL(database.url);
    const proxy = new TcpProxy({ listen: { host: '127.0.0.1', port: 0 }, target: { host: url.hostname, port: Number(url.port || 5432) } });
    proxies.push(proxy);
    const address = await proxy.start();
    url.hostname = address.host;
    url.port = String(address.port);
    const db = createDatabase<unknown>({ url: url.toString(), applicationName: 'projector-outage-test', poolSizeMax: 5 });
    proxiedDbs.push(db);
    return { database, db, proxy };
  };

  const cut = (proxy: TcpProxy) => {
    proxy.refuseConnections(true);
    proxy.dropConnections();
  };

  beforeAll(() => {
    kafka = createKafka({ clientId: 'projector-outage-test', brokers: inject('kafkaBrokers'), log });
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.stop().catch(() => undefined);
    for (const db of proxiedDbs) await db.destroy().catch(() => undefined);
    for (const proxy of proxies) await proxy.stop().catch(() => undefined);
    for (const database of databases) await database.drop();
  });

  it('keeps running through the outage and ends with the same tables as a consumer that saw none', async () => {
    const topic = uniqueTopic('projector.outage');
    await createTopic(kafka, topic, 1);
    const history = historyMessages(generateHistory({ seed: 11, shard: 0, accounts: 20, transfers: 900 }));
    const lastSeq = seqOf(history.at(-1)!);
    const firstPart = Math.floor(history.length / 3);
    await publish(kafka, topic, history.slice(0, firstPart), uniqueName('outage-a'), 100);

    const { database, db, proxy } = await proxiedDatabase('projector_outage');
    const metrics = new ProjectorMetrics();
    const fatal: unknown[] = [];
    /** Stops a batch reported (a gap would be healed by reading Kafka again: the outage must not need that). */
    const stops: unknown[] = [];
    const consumer = new ProjectionConsumer({
      kafka, topic, groupId: uniqueName('projector'), db, log, metrics, target: { kind: 'live' }, eventsPerBatch: 50,
      onFatal: (error) => fatal.push(error), onBatch: (_shard, outcome) => void (outcome.stop === undefined || stops.push(outcome.stop)),
    });
    consumers.push(consumer);
    await consumer.start();
    const checkpoint = () => consumer.partitions().find((p) => p.shard === 0)?.checkpointSeq;
    await waitUntil(() => checkpoint() === seqOf(history[firstPart - 1]!), waitMs, 'the first part applied');

    // Cut Postgres off, then publish the rest: the next batches fail on the lost connection.
    cut(proxy);
    await publish(kafka, topic, history.slice(firstPart), uniqueName('outage-b'), 100);
    await waitUntil(async () => (await metrics.postgresConnectionLost.get()).values.some((value) => value.value >= 1), waitMs, 'a batch failing on the lost connection');
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // several reconnect attempts fail meanwhile
    expect(fatal).toEqual([]);
    expect(checkpoint()).toBeLessThan(lastSeq);

    proxy.refuseConnections(false);
    await waitUntil(() => checkpoint() === lastSeq, waitMs, 'every event applied after the outage');
    expect(fatal).toEqual([]);
    expect(stops).toEqual([]);

    // A consumer that saw no outage, on a database of its own: the same tables.
    const reference = await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_outage_ref');
    databases.push(reference);
    const calm = new ProjectionConsumer({ kafka, topic, groupId: uniqueName('projector'), db: reference.db, log, metrics: new ProjectorMetrics(), target: { kind: 'live' }, eventsPerBatch: 50 });
    consumers.push(calm);
    await calm.start();
    await waitUntil(() => calm.partitions().find((p) => p.shard === 0)?.checkpointSeq === lastSeq, waitMs, 'the reference consumer at the last seq');
    expect(await dumpVersion(database.db, 'ledger_v1')).toEqual(await dumpVersion(reference.db, 'ledger_v1'));
  });

  it('joins while Postgres is away, seeks to the checkpoint once it answers, and projects everything', async () => {
    const topic = uniqueTopic('projector.outage.join');
    await createTopic(kafka, topic, 1);
    const history = historyMessages(generateHistory({ seed: 14, shard: 0, accounts: 10, transfers: 300 }));
    const lastSeq = seqOf(history.at(-1)!);
    await publish(kafka, topic, history, uniqueName('join'), 100);
    const { database, db, proxy } = await proxiedDatabase('projector_outage_join');
    cut(proxy);
    const fatal: unknown[] = [];
    const stops: unknown[] = [];
    const consumer = new ProjectionConsumer({
      kafka, topic, groupId: uniqueName('projector'), db, log, metrics: new ProjectorMetrics(), target: { kind: 'live' }, eventsPerBatch: 50,
      onFatal: (error) => fatal.push(error), onBatch: (_shard, outcome) => void (outcome.stop === undefined || stops.push(outcome.stop)),
    });
    consumers.push(consumer);
    await consumer.start();
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // joined; the seek and the first batches wait for Postgres
    expect(fatal).toEqual([]);
    proxy.refuseConnections(false);
    await waitUntil(() => consumer.partitions().find((p) => p.shard === 0)?.checkpointSeq === lastSeq, waitMs, 'every event applied');
    expect(fatal).toEqual([]);
    expect(stops).toEqual([]);
    const accounts = await database.db.selectFrom('ledger.accounts' as never).select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
    expect(Number(accounts.count)).toBe(10);
  });

  /**
   * A consumer that applied the first 50 of 200 events, then Postgres is cut off and the other
   * 150 are published: its next batch fails on the lost connection.
   */
  const consumerCutOffAfter50 = async (name: string, seed: number, postgresOutageMsMax?: number) => {
    const topic = uniqueTopic(`projector.outage.${name}`);
    await createTopic(kafka, topic, 1);
    const history = historyMessages(generateHistory({ seed, shard: 0, accounts: 10, transfers: 200 }));
    await publish(kafka, topic, history.slice(0, 50), uniqueName(`${name}-a`), 50);
    const { db, proxy } = await proxiedDatabase(`projector_outage_${name}`);
    const fatal: unknown[] = [];
    const metrics = new ProjectorMetrics();
    const consumer = new ProjectionConsumer({
      kafka, topic, groupId: uniqueName('projector'), db, log, metrics, target: { kind: 'live' }, eventsPerBatch: 50,
      postgresOutageMsMax, onFatal: (error) => fatal.push(error),
    });
    consumers.push(consumer);
    await consumer.start();
    await waitUntil(() => consumer.partitions().find((p) => p.shard === 0)?.checkpointSeq === seqOf(history[49]!), waitMs, 'the first 50 events');
    cut(proxy);
    await publish(kafka, topic, history.slice(50), uniqueName(`${name}-b`), 50);
    return { consumer, metrics, fatal };
  };

  it('stops at once while it waits out an outage, not after the current backoff step', async () => {
    const { consumer, metrics, fatal } = await consumerCutOffAfter50('stop', 13);
    const lost = async () => (await metrics.postgresConnectionLost.get()).values.some((sample) => sample.value > 0);
    await waitUntil(lost, waitMs, 'the batch failing on the lost connection');
    // Backoff steps 0.1, 0.2, 0.4, 0.8, 1.6, 3.2 s: 4 s after the loss the partition sleeps in the
    // 3.2 s step until ~6.3 s, so waiting for the step would take stop() more than 2 s.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const started = performance.now();
    await consumer.stop();
    expect(performance.now() - started).toBeLessThan(1_000); // ~25-55 ms; waiting out the step took 1.8 s
    expect(fatal).toEqual([]);
  });

  it('gives up once Postgres stays away longer than its bound', async () => {
    const { fatal } = await consumerCutOffAfter50('long', 12, 1_000);
    await waitUntil(() => fatal.length > 0, waitMs, 'the consumer giving up');
    expect(fatal).toHaveLength(1);
  });
});
