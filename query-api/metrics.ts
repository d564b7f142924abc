/**
 * Prometheus metrics of a query API process (GET /metrics): what an operator asks at 3 a.m. —
 * how slow the reads are per route and consistency, whether strong reads find the writers, how
 * well barrier calls are shared, how long reads wait for the projection and how often they give
 * up, and whether the one LISTEN connection is up.
 *
 * - `query_http_request_duration_seconds{route,consistency,status}`: every answered request.
 * - `query_barrier_calls_total{outcome}`: barrier calls (ok, no_leader, unreachable);
 *   `query_barrier_reads_per_call`: strong reads served by one call (batching);
 *   `query_barrier_call_duration_seconds`.
 * - `query_checkpoint_waits_total{outcome}`: reached (after waiting), immediate (already there),
 *   timeout, overloaded (waiter bound hit); `query_checkpoint_wait_duration_seconds`;
 *   `query_checkpoint_waiters`: waiting now.
 * - `query_listen_connected` (1/0), `query_listen_reconnects_total`,
 *   `query_listen_notifications_total{kind}` (live, other_version, invalid).
 * - `query_projection_checkpoint_seq{shard}`: live checkpoint as last heard.
 * - `query_read_cache_lookups_total{outcome}`: eventual reads answered from memory (hit) or read
 *   (miss) — read-cache.ts.
 * - prom-client's process metrics (`nodejs_eventloop_lag_*`, `nodejs_gc_duration_seconds`, heap, CPU).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type WaitOutcome = 'reached' | 'immediate' | 'timeout' | 'overloaded' | 'stopped';
export type BarrierOutcome = 'ok' | 'no_leader' | 'unreachable';

export class QueryMetrics {
  readonly registry = new Registry();
  readonly requestDurationSeconds: Histogram<'route' | 'consistency' | 'status'>;
  readonly barrierCalls: Counter<'outcome'>;
  readonly barrierReadsPerCall: Histogram;
  readonly barrierCallDurationSeconds: Histogram;
  readonly checkpointWaits: Counter<'outcome'>;
  readonly checkpointWaitDurationSeconds: Histogram;
  readonly checkpointWaiters: Gauge;
  readonly listenConnected: Gauge;
  readonly listenReconnects: Counter;
  readonly listenNotifications: Counter<'kind'>;
  readonly checkpointSeq: Gauge<'shard'>;
  readonly readCacheLookups: Counter<'outcome'>;

  constructor(labels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(labels);
    // Process metrics (event-loop lag, GC pauses, heap, CPU), as the writer exports: a stall of the
    // event loop delays reads before the request timer starts, so only these show it.
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const latencyBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    this.requestDurationSeconds = new Histogram({
      name: 'query_http_request_duration_seconds', help: 'Request latency by route, consistency and status',
      labelNames: ['route', 'consistency', 'status'], buckets: latencyBuckets, registers,
    });
    this.barrierCalls = new Counter({ name: 'query_barrier_calls_total', help: 'Writer barrier calls by outcome', labelNames: ['outcome'], registers });
    this.barrierReadsPerCall = new Histogram({ name: 'query_barrier_reads_per_call', help: 'Strong reads served by one barrier call (batching)', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers });
    this.barrierCallDurationSeconds = new Histogram({ name: 'query_barrier_call_duration_seconds', help: 'Duration of one barrier call (all writer URLs tried)', buckets: latencyBuckets, registers });
    this.readCacheLookups = new Counter({ name: 'query_read_cache_lookups_total', help: 'Eventual reads looked up in the read cache, by outcome (hit, miss)', labelNames: ['outcome'], registers });
    this.checkpointWaits = new Counter({ name: 'query_checkpoint_waits_total', help: 'Waits for a projection checkpoint by outcome', labelNames: ['outcome'], registers });
    this.checkpointWaitDurationSeconds = new Histogram({ name: 'query_checkpoint_wait_duration_seconds', help: 'Time a read waited for the projection checkpoint', buckets: latencyBuckets, registers });
    this.checkpointWaiters = new Gauge({ name: 'query_checkpoint_waiters', help: 'Reads waiting for a projection checkpoint now', registers });
    this.listenConnected = new Gauge({ name: 'query_listen_connected', help: '1 while the LISTEN ledger_checkpoint connection is up', registers });
    this.listenReconnects = new Counter({ name: 'query_listen_reconnects_total', help: 'Times the LISTEN connection was re-established after a loss', registers });
    this.listenNotifications = new Counter({ name: 'query_listen_notifications_total', help: 'ledger_checkpoint notifications received by kind', labelNames: ['kind'], registers });
    this.checkpointSeq = new Gauge({ name: 'query_projection_checkpoint_seq', help: 'Live projection checkpoint per shard, as last heard', labelNames: ['shard'], registers });
  }
}
