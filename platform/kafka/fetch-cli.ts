/** `npm run kafka:fetch`: fetch the Kafka jars ahead of time (CI does this before the tests). */
import { createLogger } from '../../common/logger.ts';
import { ensureKafkaJars } from './kafka-jars.ts';

const log = createLogger('kafka-fetch');
try {
  const directory = await ensureKafkaJars(log);
  log.info({ directory }, 'Kafka jars present');
} catch (error) {
  log.error({ err: error }, (error as Error).message);
  process.exitCode = 1;
}
