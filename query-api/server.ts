/** Entry point of the query API process. */
import { checkDatabaseReachable, createDatabase } from '../common/database/connect.ts';
import { createLogger } from '../common/logger.ts';
import { exitOnStartupError, exitWhenOrphaned, onShutdown } from '../common/process/shutdown.ts';
import { buildQueryApp } from './app.ts';
import { loadQueryApiConfig } from './config.ts';
import type { LedgerReadModelDatabase } from '../projector/read-model-database.ts';

const bootLog = createLogger('query-api');
try {
  const config = loadQueryApiConfig();
  const log = createLogger('query-api', config.logLevel);
  await checkDatabaseReachable(config.databaseUrl);
  const db = createDatabase<LedgerReadModelDatabase>({ url: config.databaseUrl, applicationName: 'query-api', poolSizeMax: 10 });
  const app = buildQueryApp({ db, log });
  await app.listen({ host: config.httpHost, port: config.httpPort });
  log.info({ url: `http://${config.httpHost}:${config.httpPort}` }, 'query API listening');
  exitWhenOrphaned(log);
  onShutdown(log, [() => db.destroy(), () => app.close()]);
} catch (error) {
  exitOnStartupError(bootLog, error);
}
