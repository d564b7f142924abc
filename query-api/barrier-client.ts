/**
 * Calls the writer cluster's `POST /v1/barrier` (DESIGN.md §4) for strong reads, sharing calls
 * between concurrent reads without ever handing a read a barrier that is too old.
 *
 * Batching rule (what keeps strong reads linearizable): a read may only use a barrier call that
 * STARTED after the read arrived. If no call is in flight, a read starts one. If one is in flight,
 * the read joins the NEXT call, which starts as soon as the in-flight one returns; every read that
 * arrives meanwhile joins that same next call. So at most one call is in flight and at most one is
 * waiting to start, and one call serves every read that arrived while its predecessor ran.
 *
 * One call tries the writer URLs in turn, starting with the one that answered last (any node
 * forwards to the leader), each attempt bounded by `attemptTimeoutMs`; it moves on when a node
 * cannot be reached or has no leader (503). When every URL failed the answer is `no_leader` (some
 * node answered 503) or `unreachable`. A follower's relayed answer names the leader's URL
 * (`x-ledger-leader-url`); when that URL is one of ours, the next call goes straight to it (one hop
 * fewer per barrier; configure WRITER_URLS with the nodes' own client URLs to get this). HTTP
 * keep-alive comes from Node's fetch (undici) pool.
 */
import assert from 'node:assert/strict';
import { leaderUrlHeader } from '../common/http/headers.ts';
import type { Logger } from '../common/logger.ts';
import type { BarrierOutcome, QueryMetrics } from './metrics.ts';

export interface BarrierPosition {
  readonly shard: number;
  readonly seq: number;
}

export type BarrierResult =
  | { readonly ok: true; readonly position: BarrierPosition }
  | { readonly ok: false; readonly code: 'no_leader' | 'unreachable'; readonly message: string; readonly retryAfterSeconds: number };

export interface BarrierClientOptions {
  readonly writerUrls: readonly string[];
  readonly log: Logger;
  readonly metrics: QueryMetrics;
  /** Bound of one attempt against one writer URL. */
  readonly attemptTimeoutMs?: number;
  /** Reads that may wait for the next call at once; one more is refused (`overloaded`). */
  readonly joinedReadsMax?: number;
}

export const attemptTimeoutMsDefault = 2_000;
export const joinedReadsMaxDefault = 10_000;
/** What a 503 tells the client to wait before retrying. */
export const barrierRetryAfterSeconds = 1;

interface Call {
  readonly promise: Promise<BarrierResult>;
  readonly reads: number;
}

/** The next call, not started yet: its promise adopts the call's once it starts. */
interface PendingCall {
  readonly promise: Promise<BarrierResult>;
  readonly adopt: (call: Promise<BarrierResult>) => void;
  reads: number;
}

export class BarrierClient {
  readonly #urls: readonly string[];
  readonly #log: Logger;
  readonly #metrics: QueryMetrics;
  readonly #attemptTimeoutMs: number;
  readonly #joinedReadsMax: number;
  #preferred = 0;
  #inFlight: Call | undefined;
  #next: PendingCall | undefined;
  #lastShard: number | undefined;

  constructor(options: BarrierClientOptions) {
    assert(options.writerUrls.length >= 1, 'at least one writer URL');
    this.#urls = options.writerUrls.map((url) => url.replace(/\/+$/, ''));
    this.#log = options.log.child({ part: 'barrier-client' });
    this.#metrics = options.metrics;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? attemptTimeoutMsDefault;
    this.#joinedReadsMax = options.joinedReadsMax ?? joinedReadsMaxDefault;
    assert(this.#attemptTimeoutMs >= 1 && this.#joinedReadsMax >= 1, 'positive bounds');
  }

  /** The shard of the last barrier that answered (the writer cluster's shard), if any. */
  get shard(): number | undefined {
    return this.#lastShard;
  }

  /**
   * A barrier position from a call that started after this method was called. Resolves with
   * `overloaded` instead when `joinedReadsMax` reads already wait for the next call.
   */
  barrier(): Promise<BarrierResult | { readonly ok: false; readonly code: 'overloaded' }> {
    if (this.#inFlight === undefined) {
      this.#inFlight = this.#startCall();
      return this.#inFlight.promise;
    }
    if (this.#next === undefined) {
      let adopt!: (call: Promise<BarrierResult>) => void;
      const promise = new Promise<BarrierResult>((resolve) => (adopt = resolve));
      this.#next = { promise, adopt, reads: 0 };
    }
    if (this.#next.reads >= this.#joinedReadsMax) return Promise.resolve({ ok: false, code: 'overloaded' });
    this.#next.reads += 1;
    return this.#next.promise;
  }

  #startCall(reads = 1): Call {
    const begin = performance.now();
    const promise = this.#callOnce().then((result) => {
      this.#metrics.barrierCalls.inc({ outcome: (result.ok ? 'ok' : result.code) satisfies BarrierOutcome });
      this.#metrics.barrierCallDurationSeconds.observe((performance.now() - begin) / 1000);
      this.#metrics.barrierReadsPerCall.observe(reads);
      this.#inFlight = undefined;
      const next = this.#next;
      this.#next = undefined;
      if (next !== undefined) {
        // Started now, after every read that joined it arrived.
        this.#inFlight = this.#startCall(next.reads);
        next.adopt(this.#inFlight.promise);
      }
      return result;
    });
    return { promise, reads };
  }

  /** Index of the leader's URL among ours, when a follower relayed the answer and named it. */
  #leaderIndex(leaderUrl: string | null): number | undefined {
    if (leaderUrl === null) return undefined;
    const index = this.#urls.indexOf(leaderUrl.replace(/\/+$/, ''));
    return index === -1 ? undefined : index;
  }

  async #callOnce(): Promise<BarrierResult> {
    const failures: string[] = [];
    let sawNoLeader = false;
    for (let attempt = 0; attempt < this.#urls.length; attempt += 1) {
      const index = (this.#preferred + attempt) % this.#urls.length;
      const url = this.#urls[index]!;
      try {
        const response = await fetch(`${url}/v1/barrier`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(this.#attemptTimeoutMs),
        });
        const body: unknown = await response.json().catch(() => undefined);
        if (response.status === 200 && isPosition(body)) {
          this.#preferred = this.#leaderIndex(response.headers.get(leaderUrlHeader)) ?? index;
          this.#lastShard = body.shard;
          return { ok: true, position: { shard: body.shard, seq: body.seq } };
        }
        if (response.status === 503) sawNoLeader = true;
        failures.push(`${url}: HTTP ${response.status}`);
      } catch (error) {
        failures.push(`${url}: ${(error as Error).name === 'TimeoutError' ? `no answer within ${this.#attemptTimeoutMs} ms` : (error as Error).message}`);
      }
    }
    const code = sawNoLeader ? 'no_leader' : 'unreachable';
    this.#log.warn({ code, failures }, 'barrier failed on every writer URL');
    const message = sawNoLeader
      ? 'the writer cluster has no leader now; strong reads are unavailable, eventual reads still answer'
      : 'no writer node could be reached; strong reads are unavailable, eventual reads still answer';
    return { ok: false, code, message, retryAfterSeconds: barrierRetryAfterSeconds };
  }
}

function isPosition(body: unknown): body is BarrierPosition {
  if (typeof body !== 'object' || body === null) return false;
  const { shard, seq } = body as Record<string, unknown>;
  return Number.isSafeInteger(shard) && (shard as number) >= 0 && Number.isSafeInteger(seq) && (seq as number) >= 0;
}
