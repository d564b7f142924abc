/**
 * Entry point of the projector process. At start it migrates the read-model schema and makes
 * sure the events topic exists (both idempotent), then serves /health.
 */
import Type from 'typebox';
import { sql } from 'kysely';
import { checkDatabaseReachable, createDatabase } from '../common/database/connect.ts';
import { migrateToLatest } from '../common/database/migrate.ts';
import { createHttpApp } from '../common/http/create-app.ts';
import { checkKafkaReachable, createKafka } from '../common/kafka/client.ts';
import { ensureTopic } from '../common/kafka/ensure-topic.ts';
import { createLogger } from '../common/logger.ts';
import { exitOnStartupError, exitWhenOrphaned, onShutdown } from '../common/process/shutdown.ts';
import { loadProjectorConfig } from './config.ts';

const bootLog = createLogger('projector');
try {
  const config = loadProjectorConfig();
  const log = createLogger('projector', config.logLevel);
  await checkDatabaseReachable(config.databaseUrl);
  const db = createDatabase<unknown>({ url: config.databaseUrl, applicationName: 'projector', poolSizeMax: 4 });
  await migrateToLatest(db, log);
  const kafkaOptions = { clientId: 'projector', brokers: config.kafkaBrokers, log };
  await checkKafkaReachable(kafkaOptions);
  const admin = createKafka(kafkaOptions).admin();
  await admin.connect();
  await ensureTopic(admin, { topic: config.kafkaTopic, partitions: config.shards, replicationFactor: 1 }, log);
  await admin.disconnect();

  const app = createHttpApp({ log });
  const Health = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]), component: Type.Literal('projector'), database: Type.Boolean() });
  app.get('/health', { schema: { response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    const database = await sql`SELECT 1`.execute(db).then(() => true, () => false);
    return reply.status(database ? 200 : 503).send({ status: database ? 'ok' : 'degraded', component: 'projector', database });
  });
  await app.listen({ host: config.httpHost, port: config.httpPort });
  log.info({ url: `http://${config.httpHost}:${config.httpPort}` }, 'projector listening');
  exitWhenOrphaned(log);
  onShutdown(log, [() => db.destroy(), () => app.close()]);
} catch (error) {
  exitOnStartupError(bootLog, error);
}
