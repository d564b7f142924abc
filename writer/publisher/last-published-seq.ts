/**
 * The seq of the last COMMITTED event message in a partition (DESIGN.md §5): what a new leader's
 * publisher continues after. Call it only after this shard's transactional producer has fenced its
 * predecessor (initTransactions), so no older producer can commit behind our back.
 *
 * Transaction markers and aborted records occupy offsets, so the record just below the high
 * watermark is often not a message. We read backwards from the end in windows with a
 * read_committed consumer: [hw − k, hw), then, when that window holds no committed data record
 * but offsets exist below it, the window just below, twice as large (bounded), and so on. The
 * answer is the highest `seq` header among the committed data records of the first window that
 * has any (one producer at a time publishes in seq order, so that is the partition's last seq).
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../../common/logger.ts';
import { withTimeout } from './bounded-wait.ts';

export interface LastPublishedSeqLimits {
  /** Offsets in the first window read below the high watermark. */
  readonly windowOffsetsInitial: number;
  /** Largest window (windows double up to this). */
  readonly windowOffsetsMax: number;
  /** Windows read before giving up (`window_limit_reached`). */
  readonly windowsMax: number;
  /** Upper bound on reading one window (group join, seek, fetches). */
  readonly windowReadTimeoutMs: number;
  /** Upper bound on fetching the partition's offsets. */
  readonly offsetsFetchTimeoutMs: number;
}

export const lastPublishedSeqLimitsDefault: LastPublishedSeqLimits = {
  windowOffsetsInitial: 256,
  windowOffsetsMax: 65_536,
  windowsMax: 32,
  windowReadTimeoutMs: 30_000,
  offsetsFetchTimeoutMs: 30_000,
};

/** Bytes a window read may fetch per partition and per request (explicit, not kafkajs defaults). */
const fetchBytesPerPartitionMax = 1_048_576;
const fetchBytesMax = 10_485_760;
const fetchWaitMsMax = 100;
const consumerRetriesMax = 5;

export type LastPublishedSeqErrorCode = 'partition_not_found' | 'invalid_seq_header' | 'window_limit_reached' | 'offsets_timeout' | 'window_read_timeout';

export class LastPublishedSeqError extends Error {
  readonly code: LastPublishedSeqErrorCode;
  /** Whether trying again later may succeed (timeouts) or not (a foreign record, a partition missing). */
  readonly retriable: boolean;

  constructor(code: LastPublishedSeqErrorCode, message: string, retriable: boolean) {
    super(`${code}: ${message}`);
    this.name = 'LastPublishedSeqError';
    this.code = code;
    this.retriable = retriable;
  }
}

export async function findLastPublishedSeq(
  kafka: Kafka,
  topic: string,
  partition: number,
  log: Logger,
  limits: LastPublishedSeqLimits = lastPublishedSeqLimitsDefault,
): Promise<number> {
  const { low, high } = await fetchPartitionOffsets(kafka, topic, partition, limits.offsetsFetchTimeoutMs);
  let end = high;
  let size = limits.windowOffsetsInitial;
  for (let window = 0; window < limits.windowsMax; window += 1) {
    if (end <= low) {
      log.info({ topic, partition, low, high, windows: window }, 'no committed event in the partition');
      return 0;
    }
    const start = Math.max(low, end - size);
    const seq = await readWindow(kafka, topic, partition, start, end, limits.windowReadTimeoutMs);
    log.debug({ topic, partition, start, end, seq }, 'read a window below the high watermark');
    if (seq !== null) {
      log.info({ topic, partition, seq, low, high, windows: window + 1 }, 'found the last published seq');
      return seq;
    }
    end = start;
    size = Math.min(size * 2, limits.windowOffsetsMax);
  }
  throw new LastPublishedSeqError('window_limit_reached', `no committed data record in ${limits.windowsMax} windows below offset ${high} of ${topic}/${partition}`, false);
}

async function fetchPartitionOffsets(kafka: Kafka, topic: string, partition: number, timeoutMs: number): Promise<{ low: number; high: number }> {
  const admin = kafka.admin();
  const fetch = async () => {
    await admin.connect();
    return admin.fetchTopicOffsets(topic);
  };
  try {
    const offsets = await withTimeout(fetch(), timeoutMs, () => new LastPublishedSeqError('offsets_timeout', `offsets of ${topic} not fetched within ${timeoutMs} ms`, true));
    const found = offsets.find((entry) => entry.partition === partition);
    if (!found) throw new LastPublishedSeqError('partition_not_found', `${topic} has no partition ${partition}`, false);
    return { low: Number(found.low), high: Number(found.high) };
  } finally {
    await admin.disconnect();
  }
}

/** Highest `seq` header among committed data records with offsets in [start, end), or null if none. */
async function readWindow(kafka: Kafka, topic: string, partition: number, start: number, end: number, timeoutMs: number): Promise<number | null> {
  const consumer = kafka.consumer({
    groupId: `last-published-seq-${randomUUID()}`,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: fetchWaitMsMax,
    maxBytesPerPartition: fetchBytesPerPartitionMax,
    maxBytes: fetchBytesMax,
    retry: { retries: consumerRetriesMax },
  });
  let highest: number | null = null;
  let failure: LastPublishedSeqError | undefined;
  let reachedEnd: () => void = () => undefined;
  const windowRead = new Promise<void>((resolve) => {
    reachedEnd = resolve;
  });
  // Emitted after every fetched batch, also for batches holding only markers or aborted records
  // (which never reach eachBatch): lastOffset tells how far the read has come.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic && payload.partition === partition && Number(payload.lastOffset) >= end - 1) reachedEnd();
  });
  const read = async () => {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.topic !== topic || batch.partition !== partition) return;
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset < start || offset >= end) continue;
          const seq = seqHeader(message.headers?.seq);
          if (seq === undefined) {
            failure ??= new LastPublishedSeqError('invalid_seq_header', `record at offset ${offset} of ${topic}/${partition} has no valid seq header`, false);
            reachedEnd();
            return;
          }
          if (highest === null || seq > highest) highest = seq;
        }
      },
    });
    consumer.seek({ topic, partition, offset: String(start) });
    await windowRead;
  };
  try {
    await withTimeout(read(), timeoutMs, () => new LastPublishedSeqError('window_read_timeout', `offsets [${start}, ${end}) of ${topic}/${partition} not read within ${timeoutMs} ms`, true));
  } finally {
    await consumer.disconnect();
  }
  if (failure) throw failure;
  return highest;
}

function seqHeader(header: Buffer | string | (Buffer | string)[] | undefined): number | undefined {
  const first = Array.isArray(header) ? header[0] : header;
  if (first === undefined) return undefined;
  const text = typeof first === 'string' ? first : first.toString('utf8');
  if (!/^[1-9]\d{0,15}$/.test(text)) return undefined;
  const seq = Number(text);
  return Number.isSafeInteger(seq) ? seq : undefined;
}
