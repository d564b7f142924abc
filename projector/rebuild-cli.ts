/**
 * `npm run projection:rebuild`: builds a new version of the ledger read models from seq 1 beside
 * the live one, verifies it and switches the views atomically (rebuild.ts). Reads the projector's
 * configuration (DATABASE_URL, KAFKA_BROKERS, KAFKA_TOPIC, LEDGER_SHARDS, PROJECTOR_EVENTS_PER_BATCH,
 * LOG_LEVEL). Exits 0 when switched, 1 when verification failed (the live version is untouched;
 * the reasons are printed) or anything else went wrong.
 */
import { checkDatabaseReachable, createDatabase } from '../common/database/connect.ts';
import { migrateToLatest } from '../common/database/migrate.ts';
import { checkKafkaReachable, createKafka } from '../common/kafka/client.ts';
import { createLogger } from '../common/logger.ts';
import { exitOnStartupError } from '../common/process/shutdown.ts';
import { loadProjectorConfig } from './config.ts';
import { rebuild } from './rebuild.ts';

const bootLog = createLogger('projection-rebuild');
try {
  const config = loadProjectorConfig();
  const log = createLogger('projection-rebuild', config.logLevel === 'info' ? 'warn' : config.logLevel);
  await checkDatabaseReachable(config.databaseUrl);
  const db = createDatabase<unknown>({ url: config.databaseUrl, applicationName: 'projection-rebuild', poolSizeMax: Math.min(config.shards, 4) + 3 });
  await migrateToLatest(db, log);
  const kafkaOptions = { clientId: 'projection-rebuild', brokers: config.kafkaBrokers, log };
  await checkKafkaReachable(kafkaOptions);
  const terminal = process.stderr.isTTY;
  const result = await rebuild({
    db, kafka: createKafka(kafkaOptions), topic: config.kafkaTopic, shards: config.shards, log, eventsPerBatch: config.eventsPerBatch,
    progress: (line) => process.stderr.write(terminal ? `\r${line}` : `${line}\n`),
  });
  if (terminal) process.stderr.write('\n');
  await db.destroy();
  if (result.outcome === 'switched') {
    console.log(`switched the ledger and bi views to ${result.versionSchema} (${result.events.toLocaleString('en')} events in ${result.seconds.toFixed(1)} s); ${result.previousSchema} is retired — drop it when no longer needed: DROP SCHEMA ${result.previousSchema} CASCADE`);
    process.exit(0);
  }
  console.error(`verification of ${result.versionSchema} failed; the live version was left untouched:`);
  for (const violation of result.violations) console.error(`  ${violation.check}: ${violation.detail}`);
  process.exit(1);
} catch (error) {
  exitOnStartupError(bootLog, error);
}
