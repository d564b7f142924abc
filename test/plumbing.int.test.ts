/**
 * The foundation's proof that the plumbing is real: a kafkajs transactional producer, a
 * read_committed consumer that never sees an aborted transaction, and a Kysely transaction that
 * writes rows and a checkpoint together (or neither) — on the real Kafka and Postgres the global
 * setup provides.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../common/kafka/client.ts';
import { createLogger } from '../common/logger.ts';
import { createTestDatabase, uniqueName, uniqueTopic, type TestDatabase } from './support/isolation.ts';

interface PlumbingDatabase {
  'plumbing.rows': { seq: string; body: string };
  'ledger.projection_checkpoints': { projection: string; shard: number; seq: string; kafka_offset: string };
}

const log = createLogger('plumbing-test', 'error');
const consumeTimeoutMs = 30_000;

describe('plumbing: Kafka transactions and a Postgres checkpoint in one transaction', () => {
  let kafka: Kafka;
  let database: TestDatabase<PlumbingDatabase>;
  let db: Kysely<PlumbingDatabase>;
  const topic = uniqueTopic('plumbing');

  beforeAll(async () => {
    kafka = createKafka({ clientId: 'plumbing-test', brokers: inject('kafkaBrokers'), log });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
    await admin.disconnect();
    database = await createTestDatabase<PlumbingDatabase>(inject('databaseUrl'), 'plumbing');
    db = database.db;
    await sql`CREATE SCHEMA plumbing`.execute(db);
    await sql`CREATE TABLE plumbing.rows (seq bigint PRIMARY KEY, body text NOT NULL)`.execute(db);
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('a read_committed consumer sees committed transactions only, and rows land with their checkpoint atomically', async () => {
    const producer = kafka.producer({ transactionalId: uniqueName('plumbing-tx'), idempotent: true, maxInFlightRequests: 1, transactionTimeout: 30_000 });
    await producer.connect();
    const send = async (bodies: string[], outcome: 'commit' | 'abort') => {
      const transaction = await producer.transaction();
      await transaction.send({ topic, messages: bodies.map((body) => ({ key: '0', value: body, partition: 0 })) });
      if (outcome === 'commit') await transaction.commit();
      else await transaction.abort();
    };
    await send(['seq-1', 'seq-2', 'seq-3'], 'commit');
    await send(['aborted-1', 'aborted-2'], 'abort');
    await send(['seq-4'], 'commit');
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('plumbing-group'), readUncommitted: false, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: { value: string; offset: string }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumer saw only ${JSON.stringify(seen)} within ${consumeTimeoutMs} ms`)), consumeTimeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push({ value: message.value?.toString() ?? '', offset: message.offset });
          if (message.value?.toString() === 'seq-4') {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await done;
    await consumer.disconnect();

    expect(seen.map((message) => message.value)).toEqual(['seq-1', 'seq-2', 'seq-3', 'seq-4']);
    // The aborted messages and the transaction markers still occupy offsets between seq-3 and seq-4.
    expect(Number(seen[3]!.offset) - Number(seen[2]!.offset)).toBeGreaterThan(1);

    // Rows and checkpoint in ONE transaction.
    const rows = seen.map((message, index) => ({ seq: String(index + 1), body: message.value }));
    await db.transaction().execute(async (transaction) => {
      await transaction.insertInto('plumbing.rows').values(rows).execute();
      await transaction
        .insertInto('ledger.projection_checkpoints')
        .values({ projection: 'plumbing', shard: 0, seq: '4', kafka_offset: seen[3]!.offset })
        .onConflict((conflict) => conflict.columns(['projection', 'shard']).doUpdateSet({ seq: '4', kafka_offset: seen[3]!.offset }))
        .execute();
    });

    // A transaction that fails after writing rows leaves neither rows nor checkpoint behind.
    await expect(
      db.transaction().execute(async (transaction) => {
        await transaction.insertInto('plumbing.rows').values({ seq: '5', body: 'never' }).execute();
        await transaction.updateTable('ledger.projection_checkpoints').set({ seq: '5' }).where('projection', '=', 'plumbing').execute();
        throw new Error('crash between writes');
      }),
    ).rejects.toThrow('crash between writes');

    const stored = await db.selectFrom('plumbing.rows').select(['seq', 'body']).orderBy('seq').execute();
    expect(stored).toEqual([
      { seq: '1', body: 'seq-1' },
      { seq: '2', body: 'seq-2' },
      { seq: '3', body: 'seq-3' },
      { seq: '4', body: 'seq-4' },
    ]);
    const checkpoint = await db.selectFrom('ledger.projection_checkpoints').select(['projection', 'shard', 'seq', 'kafka_offset']).execute();
    expect(checkpoint).toEqual([{ projection: 'plumbing', shard: 0, seq: '4', kafka_offset: seen[3]!.offset }]);
  });
});
