/**
 * Prometheus metrics of a projector (GET /metrics): what an operator asks at 3 a.m. — how far each
 * shard is, how far behind, how big and slow the batches are, and which partitions are stopped.
 *
 * - `projector_checkpoint_seq{shard}`: last seq applied (the checkpoint).
 * - `projector_lag_events{shard}`: Kafka high watermark − 1 − last examined offset. Offsets count
 *   transaction markers too, so this over-counts by at most one per producer transaction.
 * - `projector_lag_ms{shard}`: at the last batch, now − occurredAt of its last event (how stale
 *   the rows were when they became visible).
 * - `projector_batch_events`, `projector_batch_duration_seconds`: histograms per applied batch.
 * - `projector_partition_stopped{shard,code}`: 1 while the partition is stopped.
 * - `projector_postgres_connection_lost_total{shard}`: batches that failed because the connection
 *   to Postgres was lost (the partition is read again from its checkpoint once Postgres answers).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ProjectorMetrics {
  readonly registry = new Registry();
  readonly checkpointSeq: Gauge<'shard'>;
  readonly lagEvents: Gauge<'shard'>;
  readonly lagMs: Gauge<'shard'>;
  readonly batchEvents: Histogram<'shard'>;
  readonly batchDurationSeconds: Histogram<'shard'>;
  readonly eventsApplied: Counter<'shard'>;
  readonly duplicatesSkipped: Counter<'shard'>;
  readonly batchesFoldedAhead: Counter<'shard'>;
  readonly partitionStopped: Gauge<'shard' | 'code'>;
  readonly postgresConnectionLost: Counter<'shard'>;

  constructor(labels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(labels);
    const registers = [this.registry];
    this.checkpointSeq = new Gauge({ name: 'projector_checkpoint_seq', help: 'Last event seq applied (the checkpoint), per shard', labelNames: ['shard'], registers });
    this.lagEvents = new Gauge({ name: 'projector_lag_events', help: 'Messages in the partition after the last one examined (high watermark - 1 - offset)', labelNames: ['shard'], registers });
    this.lagMs = new Gauge({ name: 'projector_lag_ms', help: 'At the last batch: now - occurredAt of its last event, in ms', labelNames: ['shard'], registers });
    this.batchEvents = new Histogram({ name: 'projector_batch_events', help: 'Events applied per Postgres transaction', labelNames: ['shard'], buckets: [1, 10, 100, 500, 1_000, 2_000, 5_000], registers });
    this.batchDurationSeconds = new Histogram({ name: 'projector_batch_duration_seconds', help: 'Duration of one batch transaction', labelNames: ['shard'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers });
    this.eventsApplied = new Counter({ name: 'projector_events_applied_total', help: 'Events applied', labelNames: ['shard'], registers });
    this.duplicatesSkipped = new Counter({ name: 'projector_duplicates_skipped_total', help: 'Messages skipped because their seq was already applied', labelNames: ['shard'], registers });
    this.batchesFoldedAhead = new Counter({ name: 'projector_batches_folded_ahead_total', help: 'Batches folded from the partition cache while the previous batch was written', labelNames: ['shard'], registers });
    this.postgresConnectionLost = new Counter({ name: 'projector_postgres_connection_lost_total', help: 'Batches that failed because the connection to Postgres was lost (re-read from the checkpoint)', labelNames: ['shard'], registers });
    this.partitionStopped = new Gauge({ name: 'projector_partition_stopped', help: '1 while the partition is stopped (gap, bad or inconsistent event)', labelNames: ['shard', 'code'], registers });
  }
}
