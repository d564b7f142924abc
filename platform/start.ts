/**
 * `npm start`: the whole platform on one machine (DESIGN.md §8) — Kafka (KAFKA_BROKERS or a local
 * KRaft broker from the jars), Postgres (DATABASE_URL or an embedded server), migrations and the
 * events topic, then the writer nodes, the projector and the query API as supervised children.
 * Ctrl-C stops everything it started, in reverse order.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../common/config.ts';
import { checkDatabaseReachable, createDatabase, redactUrl } from '../common/database/connect.ts';
import { migrateToLatest } from '../common/database/migrate.ts';
import { checkKafkaReachable, createKafka } from '../common/kafka/client.ts';
import { ensureTopic } from '../common/kafka/ensure-topic.ts';
import { createLogger } from '../common/logger.ts';
import { startLocalKafka } from './kafka/local-kafka.ts';
import { startEmbeddedPostgres } from './postgres/embedded-postgres.ts';
import { loadStartConfig, type StartConfig } from './start-config.ts';
import { Supervisor, type ChildSpec } from './supervisor.ts';

const kafkaReachableTimeoutMs = 20_000;
const databaseReachableTimeoutMs = 10_000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const terminal = process.stdout.isTTY === true;
const log = createLogger('platform', (process.env.LOG_LEVEL as 'info' | undefined) ?? 'info');
const cleanups: { name: string; run: () => Promise<void> }[] = [];
let stopping: Promise<void> | undefined;

function stopEverything(exitCode: number): Promise<void> {
  stopping ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        log.info(`stopping ${cleanup.name}`);
        await cleanup.run();
      } catch (error) {
        log.error({ err: error }, `stopping ${cleanup.name} failed`);
        exitCode = 1;
      }
    }
    log.info('all stopped');
    process.exit(exitCode);
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    log.info({ signal }, 'stopping the platform');
    void stopEverything(0);
  });
}

try {
  const config = loadStartConfig();
  const dataDir = path.resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  log.info({ dataDir }, 'starting the ledger platform');

  // Both at once: a bad address of either fails start-up within one bounded wait.
  const [kafka, postgres] = await Promise.allSettled([provideKafka(config, dataDir), providePostgres(config, dataDir)]);
  if (kafka.status === 'rejected') throw kafka.reason;
  if (postgres.status === 'rejected') throw postgres.reason;
  const brokers = kafka.value;
  const databaseUrl = postgres.value;

  const db = createDatabase<unknown>({ url: databaseUrl, applicationName: 'platform-start', poolSizeMax: 2 });
  try {
    await migrateToLatest(db, log);
  } finally {
    await db.destroy();
  }
  const admin = createKafka({ clientId: 'platform-start', brokers, log }).admin();
  await admin.connect();
  try {
    await ensureTopic(admin, { topic: config.kafkaTopic, partitions: config.shards, replicationFactor: 1 }, log);
  } finally {
    await admin.disconnect();
  }

  const supervisor = new Supervisor(log, terminal);
  cleanups.push({ name: 'processes', run: () => supervisor.stop() });
  for (const child of childSpecs(config, dataDir, brokers, databaseUrl)) supervisor.start(child);
  await supervisor.waitHealthy(config.startTimeoutMs);

  const lines = [
    '',
    'Ledger platform is up:',
    ...Array.from({ length: config.writerNodes }, (_, index) => `  writer node ${index + 1}   http://127.0.0.1:${config.writerHttpPortBase + index}  (Raft peer port ${config.writerPeerPortBase + index})`),
    `  query API       http://127.0.0.1:${config.queryHttpPort}`,
    `  projector       http://127.0.0.1:${config.projectorHttpPort}/health`,
    `  Kafka           ${brokers.join(',')}  topic ${config.kafkaTopic}`,
    `  Postgres        ${redactUrl(databaseUrl)}`,
    `  data            ${dataDir}`,
    'Press Ctrl-C to stop everything.',
    '',
  ];
  if (terminal) process.stdout.write(`${lines.join('\n')}\n`);
  log.info({ writers: config.writerNodes, queryApi: `http://127.0.0.1:${config.queryHttpPort}`, kafka: brokers, dataDir }, 'platform ready');

  const failure = await supervisor.failed;
  log.fatal({ err: failure }, failure.message);
  await stopEverything(1);
} catch (error) {
  const message = error instanceof ConfigError ? error.message : `start-up failed: ${(error as Error).message}`;
  log.fatal({ err: error instanceof ConfigError ? undefined : error }, message);
  await stopEverything(1);
}

async function provideKafka(config: StartConfig, dataDir: string): Promise<string[]> {
  if (config.kafkaBrokers) {
    await checkKafkaReachable({ clientId: 'platform-start', brokers: config.kafkaBrokers, log }, kafkaReachableTimeoutMs);
    log.info({ brokers: config.kafkaBrokers }, 'using the Kafka of KAFKA_BROKERS');
    return config.kafkaBrokers;
  }
  const kafka = await startLocalKafka({ dataDir: path.join(dataDir, 'kafka'), port: config.kafkaPort, controllerPort: config.kafkaControllerPort, log });
  cleanups.push({ name: 'Kafka', run: () => kafka.stop() });
  void kafka.exited.then((status) => {
    if (stopping) return;
    log.fatal({ ...status, logFile: kafka.logFile }, 'the local Kafka broker exited');
    void stopEverything(1);
  });
  return kafka.brokers;
}

async function providePostgres(config: StartConfig, dataDir: string): Promise<string> {
  if (config.databaseUrl) {
    await checkDatabaseReachable(config.databaseUrl, databaseReachableTimeoutMs);
    log.info({ url: redactUrl(config.databaseUrl) }, 'using the Postgres of DATABASE_URL');
    return config.databaseUrl;
  }
  const postgres = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port: config.embeddedPostgresPort, database: 'ledger', log });
  cleanups.push({ name: 'Postgres', run: () => postgres.stop() });
  return postgres.url;
}

function childSpecs(config: StartConfig, dataDir: string, brokers: string[], databaseUrl: string): ChildSpec[] {
  const ids = Array.from({ length: config.writerNodes }, (_, index) => String(index + 1));
  const peers = ids.map((id, index) => `${id}=127.0.0.1:${config.writerPeerPortBase + index}`).join(',');
  const clientUrls = ids.map((id, index) => `${id}=http://127.0.0.1:${config.writerHttpPortBase + index}`).join(',');
  // A brand-new cluster only when no writer has any state yet; a node that later comes back with an
  // empty directory (lost disk) must join as a non-voter instead (writer/node/open-node.ts).
  const isEmpty = (directory: string) => !existsSync(directory) || readdirSync(directory).length === 0;
  const newCluster = ids.every((id) => isEmpty(path.join(dataDir, `writer-${id}`)));
  const common = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC: config.kafkaTopic, LEDGER_SHARDS: String(config.shards), LOG_LEVEL: config.logLevel };
  const writers = ids.map((id, index): ChildSpec => ({
    name: `writer-${id}`,
    script: path.join(root, 'writer', 'server.ts'),
    healthUrl: `http://127.0.0.1:${config.writerHttpPortBase + index}/health`,
    env: {
      ...common,
      WRITER_NODE_ID: id,
      WRITER_HTTP_PORT: String(config.writerHttpPortBase + index),
      WRITER_PEER_PORT: String(config.writerPeerPortBase + index),
      WRITER_PEERS: peers,
      WRITER_CLIENT_URLS: clientUrls,
      WRITER_DATA_DIR: path.join(dataDir, `writer-${id}`),
      WRITER_SHARD: '0',
      WRITER_CLUSTER_ID: 'ledger-local',
      WRITER_BOOTSTRAP: String(newCluster),
    },
    restartEnv: { WRITER_BOOTSTRAP: 'false' },
  }));
  return [
    ...writers,
    {
      name: 'projector',
      script: path.join(root, 'projector', 'main.ts'),
      healthUrl: `http://127.0.0.1:${config.projectorHttpPort}/health`,
      env: { ...common, DATABASE_URL: databaseUrl, PROJECTOR_HTTP_PORT: String(config.projectorHttpPort) },
    },
    {
      name: 'query-api',
      script: path.join(root, 'query-api', 'server.ts'),
      healthUrl: `http://127.0.0.1:${config.queryHttpPort}/health`,
      env: { ...common, DATABASE_URL: databaseUrl, QUERY_HTTP_PORT: String(config.queryHttpPort), WRITER_URLS: ids.map((_, index) => `http://127.0.0.1:${config.writerHttpPortBase + index}`).join(',') },
    },
  ];
}
