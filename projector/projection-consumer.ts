/**
 * The Kafka side of a projection (DESIGN.md §6): one consumer group per projection, read_committed,
 * no auto-commit and no auto-resolve. Postgres is the truth for positions: when partitions are
 * assigned, each is sought to its checkpoint's Kafka offset + 1; whatever Kafka delivers anyway
 * (a fetch that raced the seek, a redelivery) is filtered by seq against the checkpoint inside the
 * batch transaction, so correctness never depends on Kafka's committed offsets.
 *
 * Fetching and applying overlap: kafkajs fetches the next batch only when `eachBatch` returns, so
 * `eachBatch` only decodes the fetched messages and appends them to the partition's queue (bounded:
 * `queuedMessagesMax`, it waits for room) and a worker per partition applies the queue in chunks of
 * at most `eventsPerBatch` messages, each chunk one Postgres transaction (batch-apply.ts); while
 * Postgres writes one chunk, the worker folds the next one ahead. Queues
 * are never dropped while a partition runs: after a rebalance the seek re-delivers from the
 * checkpoint, and what is already applied is skipped by seq, so no message can fall between
 * Kafka's position and the queue.
 *
 * A gap, a bad or an inconsistent event stops ITS partition (paused, queue dropped, logged with
 * shard, seq and reason, shown by health and metrics); others keep going. A gap is confirmed first:
 * the partition is read again from its checkpoint, and it stops only if the gap shows again at the
 * same checkpoint. (A chaos run caught kafkajs, after a projector restart and a broker restart close
 * together, delivering a partition from past its sought position; re-reading heals that, while a
 * gap in the topic itself shows again.) A stopped partition
 * stays stopped until the process restarts (after the cause is fixed). An unexpected failure
 * (Postgres unreachable, a broken invariant) is fatal: `onFatal` is called and the process
 * should exit and be restarted — its position is in Postgres, so nothing is lost.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { decodeEnvelope } from '../common/events/envelope.ts';
import { connectionErrorForLog, isConnectionLoss } from '../common/database/connect.ts';
import type { Logger } from '../common/logger.ts';
import { retryBackoffMs } from '../common/retry-backoff.ts';
import { applyBatch, eventsPerBatchMax, prepareBatch, type ApplyOutcome, type ApplyTarget, type PreparedBatch, type WritingStage } from './batch-apply.ts';
import type { PartitionMessage } from './batch-selection.ts';
import { PartitionCache } from './partition-cache.ts';
import { describeStop, type PartitionStop } from './partition-stop.ts';
import type { ProjectorMetrics } from './metrics.ts';

export interface ProjectionConsumerOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly db: Kysely<unknown>;
  readonly log: Logger;
  readonly metrics: ProjectorMetrics;
  readonly target: ApplyTarget;
  /** Messages per Postgres transaction, 1..eventsPerBatchMax. */
  readonly eventsPerBatch?: number;
  /** Partitions applied concurrently (each in its own transaction). */
  readonly partitionsConcurrentlyMax?: number;
  /** Wall clock for lag metrics (ms since the epoch). */
  readonly now?: () => number;
  /** Called after every committed batch transaction (tests, the rebuild's progress). */
  readonly onBatch?: (shard: number, outcome: ApplyOutcome) => void;
  /** An unexpected failure: the consumer has stopped; the process should exit (default: log only). */
  readonly onFatal?: (error: unknown) => void;
  /**
   * How long the consumer waits for Postgres to answer again — after a batch failed on a lost
   * connection, or when it cannot read the checkpoints to seek to on a (re)join — before the
   * failure is fatal (default postgresOutageMsMaxDefault; 0: fatal at once).
   */
  readonly postgresOutageMsMax?: number;
}

/** A Postgres restart or failover takes seconds; a minute without one is an outage to restart from. */
export const postgresOutageMsMaxDefault = 60_000;
const reconnectDelayMsMin = 100;
const reconnectDelayMsMax = 5_000;

export interface PartitionStatus {
  readonly shard: number;
  readonly checkpointSeq: number | undefined;
  readonly stop: PartitionStop | undefined;
}

export const fetchBytesPerPartitionMax = 4 * 1024 * 1024;
export const fetchBytesMax = 16 * 1024 * 1024;
export const fetchWaitMsMax = 100;
/** A fetch returns as soon as any committed message is there (freshness); fetchWaitMsMax only bounds an empty wait. */
export const fetchBytesMin = 1;
export const sessionTimeoutMs = 10_000;
/**
 * Messages a partition's queue holds before `eachBatch` waits for the worker (plus one fetch): a
 * full batch waits while the worker writes one and folds the next ahead (both already taken out
 * of the queue), so a projector that is behind always has full batches ready. At most about three
 * batches of messages are held per partition (~300,000; ~200,000 with the earlier 50,000 batches).
 */
export const queuedMessagesMax = eventsPerBatchMax;
const queueWaitSliceMs = 500;

interface PartitionQueue {
  readonly shard: number;
  messages: PartitionMessage[];
  highWatermark: string;
  /** Resolved when the worker has taken messages (room may have freed). */
  drained: (() => void) | undefined;
  /** Resolved when messages arrive. */
  arrived: (() => void) | undefined;
  worker: Promise<void> | undefined;
  /** The next batch, taken from `messages` while the previous one was written, folded ahead if it could be. */
  ahead: { readonly messages: PartitionMessage[]; readonly prepared: Promise<PreparedBatch | undefined> } | undefined;
  /** Rows this process committed for the partition (valid only at its own last checkpoint). */
  readonly cache: PartitionCache;
  /**
   * Set while the partition is read again from its checkpoint after a gap at this offset: batches
   * fetched before the seek (all past it) are dropped until one starts at or before it.
   */
  rereadGapOffset: bigint | undefined;
}
export class ProjectionConsumer {
  readonly #options: ProjectionConsumerOptions;
  readonly #consumer: Consumer;
  readonly #eventsPerBatch: number;
  readonly #outageMsMax: number;
  readonly #stops = new Map<number, PartitionStop>();
  readonly #checkpoints = new Map<number, number>();
  readonly #queues = new Map<number, PartitionQueue>();
  /** Per shard: the checkpoint seq at which a gap was last re-read (a second gap there is confirmed). */
  readonly #gapRereadAt = new Map<number, number>();
  #running = false;
  /** Aborted by stop(): wakes a partition waiting out a Postgres outage, so stopping never waits for a backoff step. */
  #stopping = new AbortController();

  constructor(options: ProjectionConsumerOptions) {
    this.#options = options;
    this.#eventsPerBatch = Math.min(options.eventsPerBatch ?? eventsPerBatchMax, eventsPerBatchMax);
    this.#outageMsMax = options.postgresOutageMsMax ?? postgresOutageMsMaxDefault;
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 30_000,
      maxWaitTimeInMs: fetchWaitMsMax,
      minBytes: fetchBytesMin,
      maxBytesPerPartition: fetchBytesPerPartitionMax,
      maxBytes: fetchBytesMax,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
  }

  async start(): Promise<void> {
    const { topic, log } = this.#options;
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, (event) => {
      const partitions = event.payload.memberAssignment[topic] ?? [];
      // A rebalance may have let another process write meanwhile: start from Postgres again.
      for (const queue of this.#queues.values()) queue.cache.clear();
      void this.#whilePostgresAway('seeking to the checkpoints', () => this.#seekToCheckpoints(partitions), 'at once')
        .catch((error: unknown) => this.#fatal(error, 'seeking to the checkpoints failed'));
    });
    this.#consumer.on(this.#consumer.events.CRASH, (event) => {
      log.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
    });
    await this.#consumer.connect();
    // fromBeginning only matters for a group without committed offsets (we never commit): a
    // partition without a checkpoint is read from its first message; the seek does the rest.
    await this.#consumer.subscribe({ topics: [topic], fromBeginning: true });
    this.#running = true;
    this.#stopping = new AbortController();
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#options.partitionsConcurrentlyMax ?? 1,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#stopping.abort();
    for (const queue of this.#queues.values()) {
      queue.arrived?.();
      queue.drained?.();
    }
    await this.#consumer.disconnect();
    await Promise.all([...this.#queues.values()].map((queue) => queue.worker));
  }

  #fatal(error: unknown, what: string): void {
    this.#options.log.fatal({ err: error }, `${what}: the projection stops (its position is in Postgres; restart it)`);
    void this.stop().finally(() => this.#options.onFatal?.(error));
  }

  stoppedPartitions(): PartitionStop[] {
    return [...this.#stops.values()].sort((a, b) => a.shard - b.shard);
  }

  partitions(): PartitionStatus[] {
    const shards = new Set([...this.#checkpoints.keys(), ...this.#stops.keys()]);
    return [...shards].sort((a, b) => a - b).map((shard) => ({ shard, checkpointSeq: this.#checkpoints.get(shard), stop: this.#stops.get(shard) }));
  }

  async #seekToCheckpoints(partitions: readonly number[]): Promise<void> {
    const { topic, log } = this.#options;
    if (partitions.length === 0) return;
    for (const row of await this.#checkpointRows(partitions)) {
      this.#setCheckpoint(row.shard, Number(row.seq));
      const offset = offsetAfter(row);
      if (offset === undefined) continue;
      this.#consumer.seek({ topic, partition: row.shard, offset });
      log.info({ shard: row.shard, seq: Number(row.seq), offset }, 'partition assigned: seeking to the checkpoint');
    }
  }

  /** Seeks `shard` back to just after its checkpoint (to offset 0 when it has none; out of range resets to the earliest). */
  async #rereadFromCheckpoint(shard: number): Promise<void> {
    const [row] = await this.#checkpointRows([shard]);
    const offset = (row === undefined ? undefined : offsetAfter(row)) ?? '0';
    this.#consumer.seek({ topic: this.#options.topic, partition: shard, offset });
  }

  /**
   * A batch failed because the connection to Postgres was lost: it may or may not have committed.
   * Its messages go back to the front of the queue (with a batch folded ahead meanwhile), what this
   * process holds of the partition is forgotten, and the partition waits until Postgres answers;
   * then the same messages are applied again. The checkpoint is in the same transaction as the
   * rows, so events a lost commit did commit are skipped by seq: nothing is applied twice or left out.
   */
  async #recoverFromConnectionLoss(queue: PartitionQueue, failed: readonly PartitionMessage[], error: Error): Promise<void> {
    const { log, metrics } = this.#options;
    const shard = queue.shard;
    metrics.postgresConnectionLost.inc({ shard: String(shard) });
    if (this.#outageMsMax <= 0) throw error; // no waiting asked for: crash-only at once
    log.warn({ shard, err: connectionErrorForLog(error), waitMsMax: this.#outageMsMax }, 'lost the connection to Postgres while applying a batch: applying it again once Postgres answers');
    const ahead = queue.ahead;
    queue.ahead = undefined;
    queue.messages = [...failed, ...(ahead?.messages ?? []), ...queue.messages];
    queue.cache.clear();
    await this.#whilePostgresAway(`applying shard ${shard}`, async () => {
      const [row] = await this.#checkpointRows([shard]);
      if (row !== undefined) this.#setCheckpoint(shard, Number(row.seq));
      log.info({ shard, checkpointSeq: this.#checkpoints.get(shard) }, 'Postgres answers again: applying the partition from its checkpoint');
    }, 'after a backoff');
  }

  /**
   * Runs `attempt` until it succeeds, trying again with backoff (0.1 s doubling to 5 s) while
   * Postgres cannot be reached, for at most `postgresOutageMsMax`; past that, or on any other error,
   * the error is rethrown (fatal: crash-only, the supervisor restarts the process). Undefined when
   * the consumer stops meanwhile.
   */
  async #whilePostgresAway<T>(what: string, attempt: () => Promise<T>, first: 'at once' | 'after a backoff'): Promise<T | undefined> {
    const deadline = performance.now() + this.#outageMsMax;
    for (let tries = 0; this.#running; tries += 1) {
      if (tries > 0 || first === 'after a backoff') {
        await sleep(retryBackoffMs(tries, reconnectDelayMsMin, reconnectDelayMsMax), undefined, { signal: this.#stopping.signal }).catch(() => undefined);
        if (!this.#running) return undefined;
      }
      try {
        return await attempt();
      } catch (error) {
        if (!isConnectionLoss(error) || this.#outageMsMax <= 0 || performance.now() >= deadline) throw error;
        const details = { what, err: connectionErrorForLog(error as Error), tries: tries + 1, waitMsMax: this.#outageMsMax };
        if (tries === 0 && first === 'at once') this.#options.log.warn(details, 'Postgres cannot be reached: trying again with backoff');
        else this.#options.log.debug(details, 'Postgres does not answer yet');
      }
    }
    return undefined;
  }

  /** The checkpoint rows of `partitions` for this projection's target version. */
  async #checkpointRows(partitions: readonly number[]): Promise<{ shard: number; seq: string; kafka_offset: string }[]> {
    const { db, target } = this.#options;
    const rows = target.kind === 'live'
      ? await sql<{ shard: number; seq: string; kafka_offset: string }>`SELECT shard, seq, kafka_offset FROM ledger.checkpoints WHERE shard = ANY(${partitions}::integer[])`.execute(db)
      : await sql<{ shard: number; seq: string; kafka_offset: string }>`SELECT shard, seq, kafka_offset FROM ledger.projection_checkpoints
          WHERE projection = ${target.versionSchema} AND shard = ANY(${partitions}::integer[])`.execute(db);
    return rows.rows;
  }

  #setCheckpoint(shard: number, seq: number): void {
    this.#checkpoints.set(shard, seq);
    this.#options.metrics.checkpointSeq.set({ shard: String(shard) }, seq);
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, pause } = payload;
    const shard = batch.partition;
    if (this.#stops.has(shard) || !this.#running) {
      pause();
      return;
    }
    const queue = this.#queue(shard);
    const first = batch.messages[0];
    if (queue.rereadGapOffset !== undefined && first !== undefined) {
      // Fetched before the re-read's seek took effect: skip it (unresolved, so nothing moves on).
      if (BigInt(first.offset) > queue.rereadGapOffset) return;
      queue.rereadGapOffset = undefined;
    }
    // Decoded here, on arrival, so it overlaps the worker's wait for Postgres instead of adding
    // to each batch's transaction.
    for (const message of batch.messages) queue.messages.push({ offset: message.offset, value: message.value, headers: message.headers, decoded: decodeEnvelope(message) });
    queue.highWatermark = batch.highWatermark;
    queue.arrived?.();
    const last = batch.messages.at(-1);
    if (last !== undefined) resolveOffset(last.offset);
    while (this.#running && !this.#stops.has(shard) && queue.messages.length > queuedMessagesMax) {
      await new Promise<void>((resolve) => {
        queue.drained = resolve;
        setTimeout(resolve, queueWaitSliceMs);
      });
      queue.drained = undefined;
      await heartbeat();
    }
  }

  #queue(shard: number): PartitionQueue {
    let queue = this.#queues.get(shard);
    if (queue === undefined) {
      queue = { shard, messages: [], highWatermark: '0', drained: undefined, arrived: undefined, worker: undefined, ahead: undefined, cache: new PartitionCache(), rereadGapOffset: undefined };
      this.#queues.set(shard, queue);
      const started = queue;
      queue.worker = this.#work(started).catch((error: unknown) => this.#fatal(error, `applying shard ${shard} failed`));
    }
    return queue;
  }

  /** The partition's worker: applies its queue in bounded chunks, one transaction each. */
  async #work(queue: PartitionQueue): Promise<void> {
    const { db, target, log, metrics, topic } = this.#options;
    const shard = queue.shard;
    const labels = { shard: String(shard) };
    const now = this.#options.now ?? Date.now;
    while (this.#running && !this.#stops.has(shard)) {
      if (queue.messages.length === 0 && queue.ahead === undefined) {
        await new Promise<void>((resolve) => {
          queue.arrived = resolve;
          setTimeout(resolve, queueWaitSliceMs);
        });
        queue.arrived = undefined;
        continue;
      }
      const ahead = queue.ahead;
      queue.ahead = undefined;
      const messages = ahead?.messages ?? queue.messages.splice(0, this.#eventsPerBatch);
      queue.drained?.();
      // Folded ahead while the previous batch was written (see below); undefined if it could not be.
      const prepared = ahead === undefined ? undefined : await ahead.prepared;
      if (!this.#running || this.#stops.has(shard)) break;
      const started = performance.now();
      // While Postgres writes this batch, the next one is taken from the queue and folded from the
      // cache (prepareBatch), so JavaScript and Postgres overlap. A partition that is behind (a
      // full batch queued) folds it while this batch's rows are copied, the longest part of a large
      // batch; a caught-up one waits until this batch's last statement is sent, to take all that
      // has arrived by then (latency).
      let writing = true;
      const whileWriting = (stage: WritingStage): void => {
        if (!writing || queue.ahead !== undefined || !this.#running || this.#stops.has(shard)) return;
        if (queue.messages.length === 0 || (stage === 'copying' && queue.messages.length < this.#eventsPerBatch)) return;
        const next = queue.messages.splice(0, this.#eventsPerBatch);
        queue.drained?.();
        // A failure here is a bug the batch's own fold meets again in its transaction, which
        // reports it with the partition and seq: the fold made ahead is simply not used.
        queue.ahead = { messages: next, prepared: prepareBatch(shard, next, queue.cache).catch(() => undefined) };
      };
      let outcome: ApplyOutcome;
      try {
        outcome = await applyBatch(db, { shard, messages, target, cache: queue.cache, prepared, whileWriting }).finally(() => (writing = false));
      } catch (error) {
        if (!isConnectionLoss(error) || !this.#running) throw error;
        await this.#recoverFromConnectionLoss(queue, messages, error as Error);
        continue;
      }
      const seconds = (performance.now() - started) / 1_000;
      if (outcome.applied > 0) {
        metrics.batchEvents.observe(labels, outcome.applied);
        metrics.batchDurationSeconds.observe(labels, seconds);
        metrics.eventsApplied.inc(labels, outcome.applied);
      }
      if (outcome.duplicates > 0) metrics.duplicatesSkipped.inc(labels, outcome.duplicates);
      if (outcome.foldedAhead) metrics.batchesFoldedAhead.inc(labels);
      this.#setCheckpoint(shard, outcome.checkpointAfter);
      if (outcome.lastOccurredAt !== undefined) metrics.lagMs.set(labels, Math.max(0, now() - Date.parse(outcome.lastOccurredAt)));
      if (outcome.resolvedOffset !== undefined) {
        const lag = BigInt(queue.highWatermark) - 1n - BigInt(outcome.resolvedOffset);
        metrics.lagEvents.set(labels, Number(lag < 0n ? 0n : lag));
      }
      this.#options.onBatch?.(shard, outcome);
      if (outcome.stop?.code === 'seq_gap' && this.#gapRereadAt.get(shard) !== outcome.checkpointAfter) {
        this.#gapRereadAt.set(shard, outcome.checkpointAfter);
        log.warn({ shard, seq: outcome.stop.seq, offset: outcome.stop.offset, checkpointSeq: outcome.checkpointAfter, reason: outcome.stop.reason },
          'seq gap: reading the partition again from its checkpoint before stopping it');
        // (applyBatch has cleared the partition cache: it does on every stop.)
        queue.rereadGapOffset = BigInt(outcome.stop.offset);
        dropQueued(queue);
        await this.#whilePostgresAway(`reading shard ${shard} again`, () => this.#rereadFromCheckpoint(shard), 'at once');
        continue;
      }
      if (outcome.stop !== undefined) {
        this.#stops.set(shard, outcome.stop);
        metrics.partitionStopped.set({ shard: String(shard), code: outcome.stop.code }, 1);
        log.error({ shard, seq: outcome.stop.seq, offset: outcome.stop.offset, code: outcome.stop.code, reason: outcome.stop.reason }, describeStop(outcome.stop));
        if (this.#running) this.#consumer.pause([{ topic, partitions: [shard] }]);
        dropQueued(queue);
      }
    }
  }
}

/** The Kafka offset just after a checkpoint row's, or undefined when the row has none (-1). */
function offsetAfter(row: { readonly kafka_offset: string }): string | undefined {
  const offset = BigInt(row.kafka_offset);
  return offset < 0n ? undefined : (offset + 1n).toString();
}

/** Drops what a partition holds to apply (queued and folded ahead) and wakes `eachBatch` if it waits for room. */
function dropQueued(queue: PartitionQueue): void {
  queue.messages = [];
  queue.ahead = undefined;
  queue.drained?.();
}
