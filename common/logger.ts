/**
 * Structured logging (pino). Every process logs JSON lines to stdout with a `component` field;
 * the local supervisor (platform/start.ts) prefixes and pretty-prints them when it runs in a
 * terminal. Never log secrets or whole request bodies.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(component: string, level: LevelWithSilent = 'info', bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { component, pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['password', '*.password', 'databaseUrl', '*.databaseUrl'], censor: '[redacted]' },
  });
}
