/** Entry point of one writer node process. */
import { createLogger } from '../common/logger.ts';
import { exitOnStartupError, exitWhenOrphaned, onShutdown } from '../common/process/shutdown.ts';
import { loadWriterConfig } from './config.ts';
import { buildWriterApp } from './http/app.ts';

const bootLog = createLogger('writer');
try {
  const config = loadWriterConfig();
  const log = createLogger('writer', config.logLevel, { nodeId: config.nodeId, shard: config.shard });
  const app = buildWriterApp({ config, log });
  await app.listen({ host: config.httpHost, port: config.httpPort });
  log.info({ url: `http://${config.httpHost}:${config.httpPort}` }, 'writer node listening');
  exitWhenOrphaned(log);
  onShutdown(log, [() => app.close()]);
} catch (error) {
  exitOnStartupError(bootLog, error);
}
