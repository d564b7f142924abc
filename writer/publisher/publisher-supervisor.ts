/**
 * The writer node's publisher lifecycle (DESIGN.md §5): an EventPublisher runs only while this
 * node leads, one per term.
 *
 * - Becoming leader of term T: stop the previous publisher (if any), then start a new one. Losing
 *   leadership or shutting down: stop it. Neither blocks the node's Ready loop (the node calls
 *   `roleChanged` and goes on; transitions run one after another on a promise chain).
 * - A publisher that ends `fenced` or `failed` while this node STILL leads the same term (e.g. the
 *   broker aborted a transaction that outlived transaction.timeout.ms and bumped the epoch, or the
 *   partition could not be read back) is restarted after a bounded backoff, with a log line saying
 *   why. The backoff is longer than an election timeout, so a deposed leader that has not yet
 *   heard of its successor steps down (check-quorum) before it could fence the real leader again.
 * - The published watermark goes into the Raft log (a watermark record) at most every
 *   `watermarkIntervalMs`, or at once when it moved `watermarkEventsMax` events past the last one
 *   proposed, so every node knows how far the log may be compacted.
 * - Failpoint (tests only): `publisher-after-commit:<n>` SIGKILLs the process right after the n-th
 *   committed Kafka transaction, before the watermark is proposed.
 */
import { writeSync } from 'node:fs';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../../common/logger.ts';
import type { RaftRole } from '../raft/ready.ts';
import type { NodePublisher, NodePublisherContext, PublisherView } from '../node/writer-node.ts';
import { EventPublisher, type EventPublisherLimits } from './event-publisher.ts';
import { retryBackoffMs } from '../../common/retry-backoff.ts';

export interface PublisherSupervisorLimits {
  /** Least time between two watermark records. */
  readonly watermarkIntervalMs: number;
  /** Propose at once (not waiting out the interval) when the watermark moved this many events. */
  readonly watermarkEventsMax: number;
  /** Backoff before restarting a publisher that ended fenced/failed while this node still leads. */
  readonly restartBackoffMsMin: number;
  readonly restartBackoffMsMax: number;
  /** How often the publish lag is logged while there is one. */
  readonly lagLogIntervalMs: number;
}

export const publisherSupervisorLimitsDefault: PublisherSupervisorLimits = {
  watermarkIntervalMs: 250,
  watermarkEventsMax: 20_000,
  restartBackoffMsMin: 2_000,
  restartBackoffMsMax: 30_000,
  lagLogIntervalMs: 5_000,
};

export interface PublisherFailpoint {
  /** SIGKILL this process right after this many committed transactions (counted over every publisher it ran). */
  readonly killAfterCommittedTransactions: number;
}

const failpointPattern = /^publisher-after-commit:([1-9]\d{0,8})$/;
const failpointMessage = 'failpoint publisher-after-commit: killing this process before the watermark is proposed';

/**
 * The failpoint's SIGKILL. pino writes stdout asynchronously, so the fatal line logged just before
 * could die with the process: the same facts go to stderr synchronously first (tests read them).
 */
function killNow(details: { readonly publishedSeq: number; readonly transactions: number }): void {
  writeSync(2, `${JSON.stringify({ level: 60, msg: failpointMessage, ...details })}\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** `publisher-after-commit:<n>` → the failpoint; throws naming the accepted form otherwise. */
export function parsePublisherFailpoint(raw: string): PublisherFailpoint {
  const match = failpointPattern.exec(raw);
  if (match === null) throw new Error(`failpoint "${raw}" is not publisher-after-commit:<n> (n ≥ 1)`);
  return { killAfterCommittedTransactions: Number(match[1]) };
}

/**
 * The writer's transactional.id: fixed per (topic, shard), so every leader of a shard fences its
 * predecessors, while clusters publishing to different topics on one broker (tests) never fence
 * each other.
 */
export function writerTransactionalId(topic: string, shard: number): string {
  return `ledger-events-${topic}-shard-${shard}`;
}

export interface PublisherSupervisorOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly shard: number;
  readonly log: Logger;
  readonly context: NodePublisherContext;
  /** Partitions and replication of the topic, created when missing. Absent: it must exist. */
  readonly topicSpec?: { readonly partitions: number; readonly replicationFactor: number };
  readonly limits?: Partial<PublisherSupervisorLimits>;
  readonly publisherLimits?: Partial<EventPublisherLimits>;
  readonly failpoint?: PublisherFailpoint;
  /** Injected for tests: what the failpoint does (default: SIGKILL this process). */
  readonly kill?: () => void;
  readonly now?: () => number;
}

interface Running {
  readonly publisher: EventPublisher;
  readonly term: number;
}

interface Totals {
  publishedEvents: number;
  transactions: number;
  retries: number;
}

export class PublisherSupervisor implements NodePublisher {
  readonly #options: PublisherSupervisorOptions;
  readonly #limits: PublisherSupervisorLimits;
  readonly #log: Logger;
  readonly #now: () => number;
  #role: RaftRole = 'follower';
  #term = 0;
  #running: Running | undefined;
  #wantedTerm: number | undefined;
  /** Transitions (stop the old publisher, start the new one) run one after another. */
  #transition: Promise<void> = Promise.resolve();
  #stopped = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #restartAttempt = 0;
  #restarts = 0;
  #lastError: string | null = null;
  readonly #finished: Totals = { publishedEvents: 0, transactions: 0, retries: 0 };
  #lastWatermarkAt = Number.NEGATIVE_INFINITY;
  #lastWatermarkSeq = 0;
  #watermarkTimer: NodeJS.Timeout | undefined;
  readonly #lagTimer: NodeJS.Timeout;

  constructor(options: PublisherSupervisorOptions) {
    const limits = { ...publisherSupervisorLimitsDefault, ...options.limits };
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`publisher supervisor limit ${name} must be a positive integer, got ${value}`);
    }
    if (limits.restartBackoffMsMin > limits.restartBackoffMsMax) throw new RangeError('restartBackoffMsMin exceeds restartBackoffMsMax');
    this.#options = options;
    this.#limits = limits;
    this.#log = options.log.child({ component: 'publisher-supervisor' });
    this.#now = options.now ?? Date.now;
    this.#lagTimer = setInterval(() => this.#logLag(), limits.lagLogIntervalMs);
    this.#lagTimer.unref();
  }

  roleChanged(role: RaftRole, term: number): void {
    this.#role = role;
    this.#term = term;
    if (this.#stopped) return;
    const leading = role === 'leader';
    // The term a publisher runs (or is about to start) for; undefined when none should run.
    const wanted = leading ? term : undefined;
    if (wanted === this.#wantedTerm) return;
    this.#wantedTerm = wanted;
    this.#cancelRestart();
    this.#enqueue(async () => {
      await this.#stopRunning('leadership changed');
      if (leading) this.#startFor(term);
    });
  }

  notify(): void {
    this.#running?.publisher.notify();
  }

  view(): PublisherView {
    const running = this.#running;
    const stats = running?.publisher.stats();
    const state = stats?.state ?? (this.#role === 'leader' ? (this.#restartTimer !== undefined ? 'restarting' : 'starting') : 'not_leader');
    return {
      state,
      publishedSeq: stats?.publishedSeq ?? null,
      lagEvents: stats?.lagEvents ?? null,
      lagMs: stats?.lagMs ?? null,
      publishedEvents: this.#finished.publishedEvents + (stats?.publishedEvents ?? 0),
      transactions: this.#finished.transactions + (stats?.transactions ?? 0),
      retries: this.#finished.retries + (stats?.retries ?? 0),
      restarts: this.#restarts,
      lastError: stats?.lastError ?? this.#lastError,
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelRestart();
    clearTimeout(this.#watermarkTimer);
    clearInterval(this.#lagTimer);
    this.#enqueue(() => this.#stopRunning('shutting down'));
    await this.#transition;
  }

  #enqueue(step: () => Promise<void>): void {
    this.#transition = this.#transition.then(step).catch((error: unknown) => {
      // Stopping a publisher does not throw (kafkajs errors are caught inside); a throw here is a bug.
      this.#log.fatal({ err: error }, 'publisher transition failed; crashing');
      setImmediate(() => {
        throw error;
      });
    });
  }

  #startFor(term: number): void {
    if (this.#stopped || this.#role !== 'leader' || this.#term !== term) return;
    const { kafka, topic, shard, log, context } = this.#options;
    let publisher: EventPublisher | undefined = undefined;
    publisher = new EventPublisher({
      kafka, topic, shard, source: context.source, log: log.child({ term }), transactionalId: writerTransactionalId(topic, shard),
      limits: this.#options.publisherLimits,
      now: this.#now,
      ...(this.#options.topicSpec ? { ensureTopic: this.#options.topicSpec } : {}),
      onPublished: (seq) => this.#published(publisher, term, seq),
      onTerminated: (state, lastError) => this.#terminated(publisher, term, state, lastError),
    });
    this.#running = { publisher, term };
    this.#lastWatermarkSeq = context.replicatedPublishedSeq();
    publisher.start();
    this.#log.info({ term, replicatedPublishedSeq: this.#lastWatermarkSeq, lastSeq: context.source.lastSeq() }, 'leading: publisher started');
  }

  async #stopRunning(reason: string): Promise<void> {
    const running = this.#running;
    if (running === undefined) return;
    this.#running = undefined;
    clearTimeout(this.#watermarkTimer);
    this.#watermarkTimer = undefined;
    await running.publisher.stop();
    this.#addTotals(running.publisher);
    this.#log.info({ term: running.term, reason, publishedSeq: running.publisher.publishedSeq }, 'publisher stopped');
  }

  #addTotals(publisher: EventPublisher): void {
    const stats = publisher.stats();
    this.#finished.publishedEvents += stats.publishedEvents;
    this.#finished.transactions += stats.transactions;
    this.#finished.retries += stats.retries;
    if (stats.lastError !== null) this.#lastError = stats.lastError;
  }

  #published(publisher: EventPublisher | undefined, term: number, seq: number): void {
    if (publisher === undefined || this.#running?.publisher !== publisher) return;
    const stats = publisher.stats();
    const failpoint = this.#options.failpoint;
    if (failpoint !== undefined && stats.transactions > 0 && this.#finished.transactions + stats.transactions >= failpoint.killAfterCommittedTransactions) {
      const details = { publishedSeq: seq, transactions: this.#finished.transactions + stats.transactions };
      this.#log.fatal(details, failpointMessage);
      (this.#options.kill ?? (() => killNow(details)))();
      return;
    }
    if (stats.transactions > 0) this.#restartAttempt = 0;
    this.#maybeProposeWatermark(term, seq);
  }

  #maybeProposeWatermark(term: number, seq: number): void {
    if (seq <= this.#lastWatermarkSeq) return;
    const now = this.#now();
    const dueAt = this.#lastWatermarkAt + this.#limits.watermarkIntervalMs;
    if (now >= dueAt || seq - this.#lastWatermarkSeq >= this.#limits.watermarkEventsMax) {
      clearTimeout(this.#watermarkTimer);
      this.#watermarkTimer = undefined;
      if (this.#options.context.proposeWatermark(seq, term)) {
        this.#lastWatermarkAt = now;
        this.#lastWatermarkSeq = seq;
        return;
      }
      if (seq <= this.#options.context.replicatedPublishedSeq()) {
        this.#lastWatermarkSeq = seq; // the cluster knows it already
        return;
      }
      // Refused (e.g. a leadership transfer is under way, or it is proposed and not yet applied): look again after the interval.
      this.#lastWatermarkAt = now;
    }
    if (this.#watermarkTimer !== undefined) return;
    this.#watermarkTimer = setTimeout(() => {
      this.#watermarkTimer = undefined;
      const running = this.#running;
      const latest = running?.term === term ? running.publisher.publishedSeq : null;
      if (latest !== null) this.#maybeProposeWatermark(term, latest);
    }, Math.max(1, this.#lastWatermarkAt + this.#limits.watermarkIntervalMs - now));
  }

  #terminated(publisher: EventPublisher | undefined, term: number, state: 'fenced' | 'failed', lastError: string | null): void {
    if (publisher === undefined || this.#running?.publisher !== publisher) return;
    if (this.#stopped || this.#role !== 'leader' || this.#term !== term) return;
    const backoffMs = retryBackoffMs(this.#restartAttempt, this.#limits.restartBackoffMsMin, this.#limits.restartBackoffMsMax);
    this.#restartAttempt += 1;
    this.#log.warn({ term, state, lastError, backoffMs, attempt: this.#restartAttempt },
      `publisher ended ${state} while this node still leads term ${term} (e.g. the broker aborted a lapsed transaction and bumped the producer epoch): restarting it after a backoff`);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped || this.#role !== 'leader' || this.#term !== term) return;
      this.#restarts += 1;
      this.#enqueue(async () => {
        if (this.#running?.publisher === publisher) await this.#stopRunning(`restart after ${state}`);
        if (this.#running === undefined) this.#startFor(term);
      });
    }, backoffMs);
  }

  #cancelRestart(): void {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
  }

  #logLag(): void {
    const stats = this.#running?.publisher.stats();
    if (stats === undefined || stats.lagEvents === null || stats.lagEvents === 0) return;
    this.#log.info({ state: stats.state, publishedSeq: stats.publishedSeq, lagEvents: stats.lagEvents, lagMs: stats.lagMs, retries: stats.retries }, 'publish lag');
  }
}
