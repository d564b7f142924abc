/**
 * The leader's Kafka publisher for one shard (DESIGN.md §5): exactly once, no gaps, in seq order,
 * across leader changes.
 *
 * On start a transactional producer with the shard's fixed transactional.id initialises its
 * transactions — which fences any previous producer with that id and aborts its open transaction
 * — then the last committed seq in the partition is read back (findLastPublishedSeq) and events
 * are published from seq + 1 out of the committed log, one Kafka message per event, in bounded
 * transactions. A retriable failure (broker down, timeout, coordinator moving) throws the producer
 * away, backs off, and starts over with a fresh producer (which aborts whatever transaction may
 * still be open) and a fresh look at the partition, since a commit may have succeeded just before
 * the error. A fencing error means another publisher took over: this one is a zombie and stops for
 * good (`fenced`).
 *
 * kafkajs stays behind this folder's seam (REFERENCES.md): the writer node sees only this class.
 */
import assert from 'node:assert/strict';
import type { Kafka, Producer } from 'kafkajs';
import { encodeEnvelopeMessage, type EnvelopeInput, type EnvelopeMessage } from '../../common/events/envelope.ts';
import { ensureTopic, type TopicSpec } from '../../common/kafka/ensure-topic.ts';
import type { Logger } from '../../common/logger.ts';
import { interruptibleSleep, withTimeout } from './bounded-wait.ts';
import type { CommittedEventSource } from './committed-event-source.ts';
import { findLastPublishedSeq, LastPublishedSeqError, lastPublishedSeqLimitsDefault, type LastPublishedSeqLimits } from './last-published-seq.ts';
import { isProducerFenced } from './producer-fencing.ts';
import { retryBackoffMs } from '../../common/retry-backoff.ts';

export interface EventPublisherLimits {
  /** Events per Kafka transaction. */
  readonly eventsPerTransactionMax: number;
  /** Encoded message bytes (key + value) per transaction. */
  readonly bytesPerTransactionMax: number;
  /**
   * Encoded bytes per produce request inside a transaction: one request is one record batch, which
   * must stay under the broker's message.max.bytes (1 MB by default). A transaction sends several.
   */
  readonly bytesPerSendMax: number;
  /** The broker aborts a transaction left open longer than this (must be ≤ the broker's max.transaction.timeout.ms). */
  readonly transactionTimeoutMs: number;
  /** Upper bound on one Kafka step: connect and fence, one transaction, disconnect. */
  readonly kafkaOperationTimeoutMs: number;
  /** How long the broker may take to acknowledge a produce request (acks = all). */
  readonly produceAckTimeoutMs: number;
  /** kafkajs retries inside one step before the step fails and we start over. */
  readonly producerRetriesMax: number;
  /**
   * First wait of kafkajs' own retries inside a step. The broker answers CONCURRENT_TRANSACTIONS to
   * the next transaction's first request while it is still writing the previous commit's markers;
   * a 100 ms first retry capped throughput at ~10 transactions/s.
   */
  readonly producerRetryBackoffMsMin: number;
  readonly retryBackoffMsMin: number;
  readonly retryBackoffMsMax: number;
  /** Idle wait between looks at the source when no `notify()` arrives. */
  readonly idleWaitMs: number;
  readonly lastPublishedSeq: LastPublishedSeqLimits;
}

export const eventPublisherLimitsDefault: EventPublisherLimits = {
  eventsPerTransactionMax: 10_000,
  bytesPerTransactionMax: 8_388_608,
  bytesPerSendMax: 786_432,
  transactionTimeoutMs: 60_000,
  kafkaOperationTimeoutMs: 60_000,
  produceAckTimeoutMs: 30_000,
  producerRetriesMax: 8,
  producerRetryBackoffMsMin: 5,
  retryBackoffMsMin: 100,
  retryBackoffMsMax: 10_000,
  idleWaitMs: 1_000,
  lastPublishedSeq: lastPublishedSeqLimitsDefault,
};

export interface EventPublisherOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly shard: number;
  /** Fixed per shard so a new leader's producer fences the old one; default `ledger-events-shard-${shard}`. */
  readonly transactionalId?: string;
  readonly source: CommittedEventSource;
  readonly log: Logger;
  readonly limits?: Partial<EventPublisherLimits>;
  /** Called with the published seq after it was read back from Kafka and after every committed transaction. */
  readonly onPublished?: (publishedSeq: number) => void;
  /** Wall clock for the lag in milliseconds (the shell's clock; injectable for tests). */
  readonly now?: () => number;
  /** Create the topic (or check its partitions) before every connect; absent: the topic must exist. */
  readonly ensureTopic?: Omit<TopicSpec, 'topic'>;
  /** Called once when the loop ends on its own as `fenced` or `failed` (not after `stop()`). */
  readonly onTerminated?: (state: 'fenced' | 'failed', lastError: string | null) => void;
}

/**
 * - `idle`: not started; `connecting`: creating the producer, fencing, reading the partition;
 * - `publishing`: caught up or sending; `backing_off`: waiting after a failure;
 * - `stopped`: `stop()` ended it; `fenced`: another producer took over (this one is a zombie);
 * - `failed`: the partition cannot be read back (a record without a seq header, …); `lastError` says why.
 */
export type EventPublisherState = 'idle' | 'connecting' | 'publishing' | 'backing_off' | 'stopped' | 'fenced' | 'failed';

export interface EventPublisherStats {
  readonly state: EventPublisherState;
  /** Last seq known committed in Kafka; null until read back from the partition. */
  readonly publishedSeq: number | null;
  /** Events this instance committed to Kafka. */
  readonly publishedEvents: number;
  /** Transactions this instance committed. */
  readonly transactions: number;
  /** Failures this instance recovered from (each followed by a backoff and a fresh producer). */
  readonly retries: number;
  /** source.lastSeq − publishedSeq (never negative); null until publishedSeq is known. */
  readonly lagEvents: number | null;
  /** now − occurredAt of the oldest unpublished event, 0 when caught up; null until publishedSeq is known. */
  readonly lagMs: number | null;
  readonly lastError: string | null;
}

export function defaultTransactionalId(shard: number): string {
  return `ledger-events-shard-${shard}`;
}

export class EventPublisher {
  readonly #kafka: Kafka;
  readonly #topic: string;
  readonly #shard: number;
  readonly #transactionalId: string;
  readonly #source: CommittedEventSource;
  readonly #log: Logger;
  readonly #limits: EventPublisherLimits;
  readonly #onPublished: (publishedSeq: number) => void;
  readonly #now: () => number;
  readonly #ensureTopic: Omit<TopicSpec, 'topic'> | undefined;
  readonly #onTerminated: (state: 'fenced' | 'failed', lastError: string | null) => void;

  #state: EventPublisherState = 'idle';
  #publishedSeq: number | null = null;
  #publishedEvents = 0;
  #transactions = 0;
  #retries = 0;
  #lastError: string | null = null;
  #producer: Producer | null = null;
  #loop: Promise<void> | null = null;
  #stopping = false;
  #notified = false;
  #waitingForWork = false;
  #wake: (() => void) | null = null;

  constructor(options: EventPublisherOptions) {
    const limits = { ...eventPublisherLimitsDefault, ...options.limits };
    for (const [name, value] of Object.entries(limits)) {
      if (typeof value === 'number' && (!Number.isSafeInteger(value) || value < 1)) throw new RangeError(`publisher limit ${name} must be a positive integer, got ${value}`);
    }
    if (limits.retryBackoffMsMin > limits.retryBackoffMsMax) throw new RangeError('publisher limit retryBackoffMsMin exceeds retryBackoffMsMax');
    if (!Number.isSafeInteger(options.shard) || options.shard < 0) throw new RangeError(`shard ${options.shard} must be a non-negative integer`);
    this.#kafka = options.kafka;
    this.#topic = options.topic;
    this.#shard = options.shard;
    this.#transactionalId = options.transactionalId ?? defaultTransactionalId(options.shard);
    this.#source = options.source;
    this.#log = options.log.child({ component: 'publisher', shard: options.shard, topic: options.topic });
    this.#limits = limits;
    this.#onPublished = options.onPublished ?? (() => undefined);
    this.#now = options.now ?? Date.now;
    this.#ensureTopic = options.ensureTopic;
    this.#onTerminated = options.onTerminated ?? (() => undefined);
  }

  get state(): EventPublisherState {
    return this.#state;
  }

  /** Last seq known committed in Kafka (null until read back from the partition). */
  get publishedSeq(): number | null {
    return this.#publishedSeq;
  }

  /** Starts the publishing loop in the background; a broken invariant inside it crashes the process. */
  start(): void {
    assert.equal(this.#state, 'idle', 'an EventPublisher starts once');
    this.#state = 'connecting';
    this.#loop = this.#run();
  }

  /** New events were committed: look at the source now rather than after the idle wait. */
  notify(): void {
    this.#notified = true;
    if (this.#waitingForWork) this.#wake?.();
  }

  /** Ends the loop (after the transaction in flight, bounded) and disconnects. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    if (this.#loop) await this.#loop;
    if (this.#state !== 'fenced' && this.#state !== 'failed') this.#state = 'stopped';
  }

  stats(): EventPublisherStats {
    const published = this.#publishedSeq;
    let lagEvents: number | null = null;
    let lagMs: number | null = null;
    if (published !== null) {
      lagEvents = Math.max(0, this.#source.lastSeq() - published);
      const oldest = lagEvents > 0 ? this.#source.read(published + 1, 1)[0] : undefined;
      lagMs = oldest ? Math.max(0, this.#now() - oldest.occurredAtMs) : 0;
    }
    return {
      state: this.#state,
      publishedSeq: published,
      publishedEvents: this.#publishedEvents,
      transactions: this.#transactions,
      retries: this.#retries,
      lagEvents,
      lagMs,
      lastError: this.#lastError,
    };
  }

  async #run(): Promise<void> {
    let attempt = 0;
    // A broken invariant (assertion) crashes the process; it is not a termination to recover from.
    let crashed = false;
    try {
      while (!this.#stopping) {
        try {
          if (this.#producer === null) {
            await this.#connect();
            if (this.#stopping) break;
          }
          this.#notified = false;
          const published = await this.#publishNextTransaction();
          if (published === 0) await this.#waitForWork();
          attempt = 0;
        } catch (error) {
          if (error instanceof assert.AssertionError) throw error;
          if (isProducerFenced(error)) {
            this.#state = 'fenced';
            this.#lastError = describe(error);
            this.#log.error({ err: error, transactionalId: this.#transactionalId, publishedSeq: this.#publishedSeq }, 'fenced: another publisher took over this shard; stopping for good');
            return;
          }
          if (error instanceof LastPublishedSeqError && !error.retriable) {
            this.#state = 'failed';
            this.#lastError = describe(error);
            this.#log.error({ err: error, code: error.code }, 'cannot read the last published seq back; stopping');
            return;
          }
          await this.#discardProducer();
          if (this.#stopping) return;
          this.#retries += 1;
          this.#lastError = describe(error);
          const backoffMs = retryBackoffMs(attempt, this.#limits.retryBackoffMsMin, this.#limits.retryBackoffMsMax);
          attempt += 1;
          this.#log.warn({ err: error, attempt, backoffMs, publishedSeq: this.#publishedSeq }, 'publishing failed; starting over with a fresh producer after a backoff');
          this.#state = 'backing_off';
          await this.#sleep(backoffMs);
        }
      }
    } catch (error) {
      this.#state = 'failed';
      this.#lastError = describe(error);
      crashed = true;
      throw error;
    } finally {
      await this.#discardProducer();
      if (!crashed && !this.#stopping && (this.#state === 'fenced' || this.#state === 'failed')) this.#onTerminated(this.#state, this.#lastError);
    }
  }

  /** A fresh producer that has fenced its predecessors, then the partition's last committed seq. */
  async #connect(): Promise<void> {
    this.#state = 'connecting';
    if (this.#ensureTopic !== undefined) await this.#ensureTopicExists(this.#ensureTopic);
    const producer = this.#kafka.producer({
      transactionalId: this.#transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.#limits.transactionTimeoutMs,
      allowAutoTopicCreation: false,
      // Bounded on purpose (kafkajs warns that this "may invalidate EoS"): a failed step aborts its
      // transaction and we re-read the partition, so a retry never duplicates an event.
      retry: { retries: this.#limits.producerRetriesMax, initialRetryTime: this.#limits.producerRetryBackoffMsMin, maxRetryTime: this.#limits.retryBackoffMsMax },
    });
    this.#producer = producer;
    const fence = async () => {
      await producer.connect();
      // kafkajs runs InitProducerId (initTransactions) when the first transaction begins: an empty
      // one fences the previous producer with this transactional.id and aborts its open transaction.
      const empty = await producer.transaction();
      await empty.abort();
    };
    await withTimeout(fence(), this.#limits.kafkaOperationTimeoutMs, () => new Error(`producer not initialised within ${this.#limits.kafkaOperationTimeoutMs} ms`));
    const found = await findLastPublishedSeq(this.#kafka, this.#topic, this.#shard, this.#log, this.#limits.lastPublishedSeq);
    this.#log.info({ publishedSeq: found, lastSeq: this.#source.lastSeq(), transactionalId: this.#transactionalId }, 'publisher ready: predecessors fenced, publishing from the next seq');
    this.#publishedSeq = found;
    this.#state = 'publishing';
    this.#onPublished(found);
  }

  /** Publishes the next committed events in one transaction; returns how many (0: caught up). */
  async #publishNextTransaction(): Promise<number> {
    const producer = this.#producer;
    const published = this.#publishedSeq;
    assert.ok(producer !== null && published !== null, 'publishing needs a producer and a known published seq');
    const events = this.#source.read(published + 1, this.#limits.eventsPerTransactionMax);
    assert.ok(events.length <= this.#limits.eventsPerTransactionMax, `source returned ${events.length} events, asked for at most ${this.#limits.eventsPerTransactionMax}`);
    if (events.length === 0) return 0;
    const lastSeq = await withTimeout(this.#transaction(producer, events, published), this.#limits.kafkaOperationTimeoutMs,
      () => new Error(`transaction from seq ${published + 1} not committed within ${this.#limits.kafkaOperationTimeoutMs} ms`));
    const count = lastSeq - published;
    assert.equal(this.#publishedSeq, published, 'published seq moved during a transaction');
    this.#publishedSeq = lastSeq;
    this.#publishedEvents += count;
    this.#transactions += 1;
    this.#log.debug({ fromSeq: published + 1, toSeq: lastSeq }, 'committed a transaction');
    this.#onPublished(lastSeq);
    return count;
  }

  /**
   * One transaction of the events from `published + 1`, at most `bytesPerTransactionMax` bytes, sent
   * as produce requests of at most `bytesPerSendMax` bytes. Each request's messages are encoded just
   * before it is sent, so the event loop (the writer's Raft heartbeats) runs between requests.
   * Returns the last seq committed.
   */
  async #transaction(producer: Producer, events: readonly EnvelopeInput[], published: number): Promise<number> {
    const transaction = await producer.transaction();
    const send = (messages: readonly EnvelopeMessage[]) => transaction.send({
      topic: this.#topic,
      acks: -1,
      timeout: this.#limits.produceAckTimeoutMs,
      messages: messages.map((message) => ({ ...message, headers: { ...message.headers } })),
    });
    try {
      let count = 0;
      let bytes = 0;
      let chunk: EnvelopeMessage[] = [];
      let chunkBytes = 0;
      for (const event of events) {
        assert.equal(event.seq, published + 1 + count, `seq continuity: expected ${published + 1 + count} from the source, got ${event.seq}`);
        assert.equal(event.shard, this.#shard, `event seq ${event.seq} belongs to shard ${event.shard}, not ${this.#shard}`);
        const message = encodeEnvelopeMessage(event);
        const messageBytes = Buffer.byteLength(message.key) + Buffer.byteLength(message.value);
        if (count > 0 && bytes + messageBytes > this.#limits.bytesPerTransactionMax) break;
        if (chunk.length > 0 && chunkBytes + messageBytes > this.#limits.bytesPerSendMax) {
          await send(chunk);
          chunk = [];
          chunkBytes = 0;
        }
        chunk.push(message);
        chunkBytes += messageBytes;
        count += 1;
        bytes += messageBytes;
      }
      if (chunk.length > 0) await send(chunk);
      await transaction.commit();
      return published + count;
    } catch (error) {
      if (transaction.isActive()) {
        // The fresh producer we start over with aborts it anyway (initTransactions); this is only quicker.
        await transaction.abort().catch((abortError: unknown) => this.#log.debug({ err: abortError }, 'abort after a failed transaction failed too'));
      }
      throw error;
    }
  }

  async #ensureTopicExists(spec: Omit<TopicSpec, 'topic'>): Promise<void> {
    const admin = this.#kafka.admin();
    const ensure = async () => {
      await admin.connect();
      await ensureTopic(admin, { ...spec, topic: this.#topic }, this.#log);
    };
    try {
      await withTimeout(ensure(), this.#limits.kafkaOperationTimeoutMs, () => new Error(`topic ${this.#topic} not ensured within ${this.#limits.kafkaOperationTimeoutMs} ms`));
    } finally {
      await admin.disconnect().catch((error: unknown) => this.#log.debug({ err: error }, 'admin disconnect failed'));
    }
  }

  async #discardProducer(): Promise<void> {
    const producer = this.#producer;
    if (producer === null) return;
    this.#producer = null;
    try {
      await withTimeout(producer.disconnect(), this.#limits.kafkaOperationTimeoutMs, () => new Error(`producer not disconnected within ${this.#limits.kafkaOperationTimeoutMs} ms`));
    } catch (error) {
      this.#log.warn({ err: error }, 'producer disconnect failed; its transaction (if any) is aborted by the next initTransactions or the transaction timeout');
    }
  }

  async #waitForWork(): Promise<void> {
    if (this.#notified || this.#stopping) return;
    this.#waitingForWork = true;
    try {
      await this.#sleep(this.#limits.idleWaitMs);
    } finally {
      this.#waitingForWork = false;
    }
  }

  async #sleep(ms: number): Promise<void> {
    const sleep = interruptibleSleep(ms);
    this.#wake = sleep.wake;
    try {
      await sleep.done;
    } finally {
      this.#wake = null;
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
