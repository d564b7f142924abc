/**
 * Entry point of the projector process. At start it migrates the read-model schema, sets the BI
 * role's password from config, makes sure the events topic exists (all idempotent), then runs
 * the ledger projection consumer and serves /health and /metrics.
 */
import { checkDatabaseReachable, connectionErrorForLog, createDatabase } from '../common/database/connect.ts';
import { migrateToLatest } from '../common/database/migrate.ts';
import { checkKafkaReachable, createKafka } from '../common/kafka/client.ts';
import { ensureTopic } from '../common/kafka/ensure-topic.ts';
import { createLogger } from '../common/logger.ts';
import { exitOnStartupError, exitWhenOrphaned, onShutdown } from '../common/process/shutdown.ts';
import { buildProjectorApp } from './app.ts';
import { setBiRolePassword } from './bi-role.ts';
import { loadProjectorConfig } from './config.ts';
import { ProjectorMetrics } from './metrics.ts';
import { ProjectionConsumer } from './projection-consumer.ts';

const bootLog = createLogger('projector');
try {
  const config = loadProjectorConfig();
  const log = createLogger('projector', config.logLevel);
  await checkDatabaseReachable(config.databaseUrl);
  const db = createDatabase<unknown>({
    url: config.databaseUrl, applicationName: 'projector', poolSizeMax: Math.min(config.shards, 4) + 2,
    onIdleConnectionError: (error) => log.warn({ err: connectionErrorForLog(error) }, 'an idle Postgres connection failed; the pool replaces it'),
  });
  await migrateToLatest(db, log);
  const biLogin = await setBiRolePassword(db, config.biPassword);
  if (biLogin === 'nologin') log.warn('LEDGER_BI_PASSWORD is not set: role ledger_bi cannot log in (BI tools cannot connect)');
  else log.info('role ledger_bi can log in with the password from LEDGER_BI_PASSWORD');
  const kafkaOptions = { clientId: 'projector', brokers: config.kafkaBrokers, log };
  await checkKafkaReachable(kafkaOptions);
  const kafka = createKafka(kafkaOptions);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, { topic: config.kafkaTopic, partitions: config.shards, replicationFactor: 1 }, log);
  await admin.disconnect();

  const metrics = new ProjectorMetrics();
  const consumer = new ProjectionConsumer({
    kafka, topic: config.kafkaTopic, groupId: config.groupId, db, log, metrics, target: { kind: 'live' },
    eventsPerBatch: config.eventsPerBatch, partitionsConcurrentlyMax: Math.min(config.shards, 4),
    postgresOutageMsMax: config.postgresOutageMs,
    // Crash-only: a failure we did not expect (or Postgres away longer than the bound above) ends
    // the process; the supervisor restarts it and the consumer resumes from the Postgres checkpoints.
    onFatal: () => process.exit(1),
  });
  const app = buildProjectorApp({ db, log, metrics, partitions: () => consumer.partitions() });
  await consumer.start();
  await app.listen({ host: config.httpHost, port: config.httpPort });
  log.info({ url: `http://${config.httpHost}:${config.httpPort}`, topic: config.kafkaTopic, groupId: config.groupId }, 'projector listening');
  exitWhenOrphaned(log);
  onShutdown(log, [() => db.destroy(), () => app.close(), () => consumer.stop()]);
} catch (error) {
  exitOnStartupError(bootLog, error);
}
