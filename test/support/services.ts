/**
 * Real Kafka and Postgres for integration and end-to-end tests, chosen in this order:
 *   Kafka:    KAFKA_BROKERS → Testcontainers (Docker engine reachable) → local KRaft broker from the jars
 *   Postgres: DATABASE_URL  → Testcontainers (Docker engine reachable) → 127.0.0.1:5432 when reachable
 *             → the embedded server.
 * Never a mock. When none can be had, setup fails with a message saying why; tests never skip.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBrokers } from '../../common/config.ts';
import { checkDatabaseReachable, redactUrl } from '../../common/database/connect.ts';
import { checkKafkaReachable } from '../../common/kafka/client.ts';
import type { Logger } from '../../common/logger.ts';
import { startLocalKafka } from '../../platform/kafka/local-kafka.ts';
import { startEmbeddedPostgres } from '../../platform/postgres/embedded-postgres.ts';
import { dockerReachable } from './docker.ts';
import { freePort } from './ports.ts';

export interface TestServices {
  readonly kafkaBrokers: string[];
  /** A superuser URL of a database the tests may create other databases from. */
  readonly databaseUrl: string;
  readonly description: string;
  /** The broker's process id when it is a local broker started here (benches report its CPU). */
  readonly kafkaPid?: number;
  stop(): Promise<void>;
}

export const localPostgresUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
const kafkaImage = 'confluentinc/cp-kafka:7.9.0'; // Apache Kafka 3.9
const postgresImage = 'postgres:16-alpine';

export async function startTestServices(log: Logger): Promise<TestServices> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => log.error({ err: error }, 'stopping a test service failed'));
  };
  try {
    const docker = (!process.env.KAFKA_BROKERS || !process.env.DATABASE_URL) && (await dockerReachable());
    const kafka = await provideKafka(log, docker, stops);
    const postgres = await providePostgres(log, docker, stops);
    return { kafkaBrokers: kafka.brokers, databaseUrl: postgres.url, description: `Kafka: ${kafka.how}; Postgres: ${postgres.how}`, kafkaPid: kafka.pid, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function provideKafka(log: Logger, docker: boolean, stops: (() => Promise<void>)[]): Promise<{ brokers: string[]; how: string; pid?: number }> {
  if (process.env.KAFKA_BROKERS) {
    const brokers = parseBrokers(process.env.KAFKA_BROKERS);
    await checkKafkaReachable({ clientId: 'test-setup', brokers, log }, 15_000).catch((error: unknown) => {
      throw new Error(`KAFKA_BROKERS is set but ${(error as Error).message}`);
    });
    return { brokers, how: `KAFKA_BROKERS=${brokers.join(',')}` };
  }
  if (docker) {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    const container = await new KafkaContainer(kafkaImage).withKraft()
      .withEnvironment({ KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' })
      .start();
    stops.push(async () => void (await container.stop()));
    const brokers = [`${container.getHost()}:${container.getMappedPort(9093)}`];
    return { brokers, how: `Testcontainers ${kafkaImage}` };
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-test-kafka-'));
  const kafka = await startLocalKafka({ dataDir, port: await freePort(), controllerPort: await freePort(), heapMb: 512, log });
  stops.push(async () => {
    await kafka.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { brokers: kafka.brokers, how: `local KRaft broker from the jars (${kafka.brokers.join(',')})`, pid: kafka.pid };
}

async function providePostgres(log: Logger, docker: boolean, stops: (() => Promise<void>)[]): Promise<{ url: string; how: string }> {
  if (process.env.DATABASE_URL) {
    const url = process.env.DATABASE_URL;
    await checkDatabaseReachable(url).catch((error: unknown) => {
      throw new Error(`DATABASE_URL is set but ${(error as Error).message}`);
    });
    return { url, how: `DATABASE_URL=${redactUrl(url)}` };
  }
  if (docker) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer(postgresImage).start();
    stops.push(async () => void (await container.stop()));
    return { url: container.getConnectionUri(), how: `Testcontainers ${postgresImage}` };
  }
  const local = await checkDatabaseReachable(localPostgresUrl, 3_000).then(() => true, () => false);
  if (local) return { url: localPostgresUrl, how: 'local server on 127.0.0.1:5432' };
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-test-postgres-'));
  const postgres = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'postgres', log });
  stops.push(async () => {
    await postgres.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { url: postgres.url, how: 'embedded Postgres' };
}
