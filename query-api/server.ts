/** Entry point of the query API process. */
import { checkDatabaseReachable, connectionErrorForLog, createPool } from '../common/database/connect.ts';
import { createLogger } from '../common/logger.ts';
import { exitOnStartupError, exitWhenOrphaned, onShutdown } from '../common/process/shutdown.ts';
import { buildQueryApp } from './app.ts';
import { BarrierClient } from './barrier-client.ts';
import { CheckpointWaiter } from './checkpoint-waiter.ts';
import { loadQueryApiConfig } from './config.ts';
import { QueryMetrics } from './metrics.ts';

const bootLog = createLogger('query-api');
try {
  const config = loadQueryApiConfig();
  const log = createLogger('query-api', config.logLevel);
  await checkDatabaseReachable(config.databaseUrl);
  const pool = createPool({
    url: config.databaseUrl, applicationName: 'query-api', poolSizeMax: config.databasePoolSizeMax,
    onIdleConnectionError: (error) => log.warn({ err: connectionErrorForLog(error) }, 'idle Postgres connection failed'),
  });
  const metrics = new QueryMetrics();
  const waiter = new CheckpointWaiter({ databaseUrl: config.databaseUrl, log, metrics });
  await waiter.start();
  const barrier = new BarrierClient({ writerUrls: config.writerUrls, log, metrics, attemptTimeoutMs: config.barrierTimeoutMs });
  const app = await buildQueryApp({ db: pool, log, metrics, waiter, barrier, shards: config.shards, readCacheEntries: config.readCacheEntries });
  await app.listen({ host: config.httpHost, port: config.httpPort });
  log.info({ url: `http://${config.httpHost}:${config.httpPort}`, docs: `http://${config.httpHost}:${config.httpPort}/docs`, writerUrls: config.writerUrls }, 'query API listening');
  exitWhenOrphaned(log);
  onShutdown(log, [() => pool.end(), () => waiter.stop(), () => app.close()]);
} catch (error) {
  exitOnStartupError(bootLog, error);
}
