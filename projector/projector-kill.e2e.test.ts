/**
 * Exactly-once effect under crashes: the real projector process (projector/main.ts) is SIGKILLed
 * five times while it applies a history of 20,000 transfers, restarted each time; afterwards its
 * tables equal, byte for byte (one query over all rows per table), those of a clean run into a
 * fresh database. Each restart uses a new consumer group, so nothing can come from Kafka's
 * committed offsets: positions come from the Postgres checkpoints only.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../common/kafka/client.ts';
import { createLogger } from '../common/logger.ts';
import { freePort } from '../test/support/ports.ts';
import { runNodeScript, type RunningProcess } from '../test/support/processes.ts';
import { createTestDatabase, uniqueName, uniqueTopic, type TestDatabase } from '../test/support/isolation.ts';
import { mulberry32, generateHistory, historyMessages } from './test/ledger-history.ts';
import { dumpVersion } from './test/read-model-dump.ts';
import { createTopic, publish, waitUntil } from './test/publish.ts';

const log = createLogger('projector-kill-test', 'silent');
const kills = 5;
const runTimeoutMs = 60_000;

async function checkpointOf(db: Kysely<unknown>): Promise<number> {
  const result = await sql<{ seq: string }>`SELECT seq FROM ledger.checkpoints WHERE shard = 0`.execute(db).catch(() => ({ rows: [] }));
  return Number(result.rows[0]?.seq ?? 0);
}

describe('projector SIGKILLed mid-batch', () => {
  let kafka: Kafka;
  const topic = uniqueTopic('projector.kill');
  let crashed: TestDatabase<unknown>;
  let clean: TestDatabase<unknown>;
  let lastSeq: number;
  const running: RunningProcess[] = [];

  const startProjector = async (database: TestDatabase<unknown>): Promise<RunningProcess> => {
    const child = runNodeScript('projector/main.ts', {
      ...process.env,
      DATABASE_URL: database.url, KAFKA_BROKERS: inject('kafkaBrokers').join(','), KAFKA_TOPIC: topic, LEDGER_SHARDS: '1',
      PROJECTOR_HTTP_PORT: String(await freePort()), PROJECTOR_GROUP_ID: uniqueName('kill-test'), PROJECTOR_EVENTS_PER_BATCH: '250', LOG_LEVEL: 'warn',
    });
    running.push(child);
    return child;
  };

  beforeAll(async () => {
    kafka = createKafka({ clientId: 'projector-kill-test', brokers: inject('kafkaBrokers'), log });
    await createTopic(kafka, topic, 1);
    const messages = historyMessages(generateHistory({ seed: 7, shard: 0, accounts: 200, transfers: 20_000 }));
    lastSeq = JSON.parse(messages.at(-1)!.value).seq as number;
    await publish(kafka, topic, messages, uniqueName('kill-tx'));
    crashed = await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_kill', { migrate: false });
    clean = await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_clean', { migrate: false });
  });

  afterAll(async () => {
    for (const child of running) if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    await crashed?.drop();
    await clean?.drop();
  });

  it('after five SIGKILLs and a restart the tables equal those of a clean run', async () => {
    const random = mulberry32(11);
    const killedAt: number[] = [];
    for (let kill = 0; kill < kills; kill += 1) {
      const before = await checkpointOf(crashed.db);
      const child = await startProjector(crashed);
      const advanceBy = 500 + Math.floor(random() * 2_000);
      await waitUntil(async () => (await checkpointOf(crashed.db)) >= Math.min(before + advanceBy, lastSeq - 1) || child.child.exitCode !== null, runTimeoutMs, `run ${kill + 1} to advance ${advanceBy} events`);
      expect(child.child.exitCode, child.output()).toBeNull();
      child.child.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
      killedAt.push(await checkpointOf(crashed.db));
    }
    expect(killedAt.every((seq, index) => seq > (killedAt[index - 1] ?? 0) && seq < lastSeq), `checkpoints at the kills: ${killedAt.join(', ')} of ${lastSeq}`).toBe(true);

    const final = await startProjector(crashed);
    await waitUntil(async () => (await checkpointOf(crashed.db)) === lastSeq, runTimeoutMs, 'the restarted projector to finish');
    final.child.kill('SIGTERM');
    expect((await final.exited).code).toBe(0);

    const reference = await startProjector(clean);
    await waitUntil(async () => (await checkpointOf(clean.db)) === lastSeq, runTimeoutMs, 'the clean run to finish');
    reference.child.kill('SIGTERM');
    await reference.exited;

    const expected = await dumpVersion(clean.db, 'ledger_v1');
    expect(expected.transfers!.split('\n').length).toBeGreaterThan(15_000);
    const actual = await dumpVersion(crashed.db, 'ledger_v1');
    for (const table of Object.keys(expected)) expect(actual[table] === expected[table], `table ${table} equals the clean run's`).toBe(true);
  });
});
