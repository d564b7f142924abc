/** kafkajs behind one small seam (REFERENCES.md: keep kafkajs replaceable), with explicit limits. */
import { Kafka, logLevel as kafkaLogLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { Logger } from '../logger.ts';

export interface KafkaClientOptions {
  readonly clientId: string;
  readonly brokers: string[];
  readonly log: Logger;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly retriesMax?: number;
}

// We always name partitions explicitly (partition = shard), so the default-partitioner notice is noise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

export function createKafka(options: KafkaClientOptions): Kafka {
  const log = options.log.child({ library: 'kafkajs' });
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    retry: { retries: options.retriesMax ?? 5, initialRetryTime: 100, maxRetryTime: 5_000 },
    // kafkajs' own INFO lines (joins, assignments, seeks) only when our logger runs at debug or finer.
    logLevel: log.isLevelEnabled('trace') ? kafkaLogLevel.DEBUG : log.isLevelEnabled('debug') ? kafkaLogLevel.INFO : kafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      const fields = { namespace: entry.namespace, ...rest };
      // kafkajs reports retriable broker answers (coordinator loading, …) as errors and retries
      // them itself; what finally fails reaches the caller as a rejected promise.
      if (entry.level <= kafkaLogLevel.WARN) log.warn(fields, message);
      else log.debug(fields, message);
    },
  };
  return new Kafka(config);
}

/** Connects an admin client with a bounded wait and a readable error. */
export async function checkKafkaReachable(options: KafkaClientOptions, timeoutMs = 15_000): Promise<void> {
  const kafka = createKafka({ ...options, retriesMax: 0, connectionTimeoutMs: Math.min(3_000, timeoutMs) });
  const admin = kafka.admin();
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  try {
    while (Date.now() < deadline) {
      try {
        await admin.connect();
        await admin.describeCluster();
        return;
      } catch (error) {
        lastError = error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    throw new Error(`cannot reach Kafka at ${options.brokers.join(',')} within ${timeoutMs} ms: ${(lastError as Error | undefined)?.message ?? 'no answer'}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
