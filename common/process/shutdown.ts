/**
 * Graceful shutdown for a long-running process: on SIGINT/SIGTERM run the registered closers in
 * reverse order, bounded by `shutdownTimeoutMs`, then exit. A second signal exits at once.
 */
import type { Logger } from '../logger.ts';

export const shutdownTimeoutMs = 15_000;

export function onShutdown(log: Logger, closers: (() => Promise<void>)[]): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs: shutdownTimeoutMs }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, shutdownTimeoutMs);
    timer.unref();
    void (async () => {
      let failed = false;
      for (const close of [...closers].reverse()) {
        try {
          await close();
        } catch (error) {
          failed = true;
          log.error({ err: error }, 'error while shutting down');
        }
      }
      log.info('stopped');
      process.exit(failed ? 1 : 0);
    })();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Logs a start-up failure (config, unreachable dependency) and exits non-zero. */
export function exitOnStartupError(log: Logger, error: unknown): never {
  log.fatal({ err: error }, `start-up failed: ${(error as Error).message}`);
  process.exit(1);
}

export const parentCheckIntervalMs = 1_000;

/**
 * A supervised child (platform/start.ts sets LEDGER_SUPERVISED=1) exits when its supervisor is
 * gone, so a killed `npm start` leaves no process behind.
 */
export function exitWhenOrphaned(log: Logger): void {
  if (process.env.LEDGER_SUPERVISED !== '1') return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      log.warn({ parent }, 'supervisor is gone; exiting');
      process.kill(process.pid, 'SIGTERM');
    }
  }, parentCheckIntervalMs);
  timer.unref();
}
