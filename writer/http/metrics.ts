/** Prometheus metrics of a writer node: what an operator asks at 3 a.m. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClusterView } from '../node/writer-node.ts';

export interface WriterMetrics {
  readonly registry: Registry;
  readonly requestSeconds: Histogram<'route' | 'status'>;
  readonly batchItems: Histogram<'kind'>;
  readonly forwarded: Counter<'route'>;
  refresh(view: ClusterView, storage: { fsyncs: number; fsyncSecondsTotal: number } | undefined): void;
}

const roles = ['follower', 'pre_candidate', 'candidate', 'leader'] as const;

export function createWriterMetrics(): WriterMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const role = new Gauge({ name: 'ledger_writer_role', help: '1 for the role this node has now', labelNames: ['role'], registers: [registry] });
  const term = new Gauge({ name: 'ledger_writer_term', help: 'current Raft term', registers: [registry] });
  const commitIndex = new Gauge({ name: 'ledger_writer_commit_index', help: 'Raft commit index', registers: [registry] });
  const appliedIndex = new Gauge({ name: 'ledger_writer_applied_index', help: 'Raft index applied to the ledger state', registers: [registry] });
  const lastSeq = new Gauge({ name: 'ledger_writer_last_seq', help: 'seq of the last applied event', registers: [registry] });
  const isLeader = new Gauge({ name: 'ledger_writer_is_leader', help: '1 when this node leads', registers: [registry] });
  const fsyncs = new Gauge({ name: 'ledger_writer_fsyncs_total', help: 'fsyncs of the Raft log', registers: [registry] });
  const fsyncSeconds = new Gauge({ name: 'ledger_writer_fsync_seconds_total', help: 'time spent in fsync of the Raft log', registers: [registry] });
  const requestSeconds = new Histogram({
    name: 'ledger_writer_request_seconds', help: 'client request latency', labelNames: ['route', 'status'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [registry],
  });
  const batchItems = new Histogram({
    name: 'ledger_writer_batch_items', help: 'items per write request', labelNames: ['kind'] as const,
    buckets: [1, 10, 100, 1000, 4000, 8190], registers: [registry],
  });
  const publishedSeq = new Gauge({ name: 'ledger_writer_published_seq', help: 'replicated published watermark: every event up to it is committed in Kafka (compaction floor)', registers: [registry] });
  const unpublishedEvents = new Gauge({ name: 'ledger_writer_unpublished_events', help: 'lastSeq minus the replicated published watermark', registers: [registry] });
  const publisherState = new Gauge({ name: 'ledger_writer_publisher_state', help: '1 for the state the publisher is in now (off, not_leader, starting, connecting, publishing, backing_off, restarting, fenced, failed, stopped)', labelNames: ['state'], registers: [registry] });
  const publisherPublishedSeq = new Gauge({ name: 'ledger_writer_publisher_published_seq', help: "the leader's live publisher: last seq committed in Kafka (-1 when none runs)", registers: [registry] });
  const publishLagEvents = new Gauge({ name: 'ledger_writer_publish_lag_events', help: "the leader's publisher: committed events not yet in Kafka (-1 when none runs)", registers: [registry] });
  const publishLagMs = new Gauge({ name: 'ledger_writer_publish_lag_ms', help: "the leader's publisher: age of the oldest event not yet in Kafka (-1 when none runs)", registers: [registry] });
  const publisherTransactions = new Gauge({ name: 'ledger_writer_publisher_transactions_total', help: 'Kafka transactions committed by this process', registers: [registry] });
  const publisherEvents = new Gauge({ name: 'ledger_writer_publisher_events_total', help: 'events committed to Kafka by this process', registers: [registry] });
  const publisherRetries = new Gauge({ name: 'ledger_writer_publisher_retries_total', help: 'publisher failures recovered from with a fresh producer after a backoff', registers: [registry] });
  const publisherRestarts = new Gauge({ name: 'ledger_writer_publisher_restarts_total', help: 'publishers restarted after ending fenced/failed while this node still led', registers: [registry] });
  const snapshotsTaken = new Gauge({ name: 'ledger_writer_snapshots_taken_total', help: 'snapshots this process took of its state (and compacted the log to)', registers: [registry] });
  const snapshotsInstalled = new Gauge({ name: 'ledger_writer_snapshots_installed_total', help: 'snapshots this process installed from a leader', registers: [registry] });
  const tickStalls = new Gauge({ name: 'ledger_writer_tick_stalls_total', help: 'Raft ticks that came at least 100 ms late (event loop blocked)', registers: [registry] });
  const forwarded = new Counter({ name: 'ledger_writer_forwarded_total', help: 'requests forwarded to the leader', labelNames: ['route'] as const, registers: [registry] });
  return {
    registry, requestSeconds, batchItems, forwarded,
    refresh(view, storage) {
      for (const candidate of roles) role.set({ role: candidate }, candidate === view.role ? 1 : 0);
      term.set(view.term);
      commitIndex.set(view.commitIndex);
      appliedIndex.set(view.appliedIndex);
      lastSeq.set(view.lastSeq);
      isLeader.set(view.role === 'leader' ? 1 : 0);
      publishedSeq.set(view.publishedSeq);
      unpublishedEvents.set(Math.max(0, view.lastSeq - view.publishedSeq));
      publisherState.reset();
      publisherState.set({ state: view.publisher.state }, 1);
      publisherPublishedSeq.set(view.publisher.publishedSeq ?? -1);
      publishLagEvents.set(view.publisher.lagEvents ?? -1);
      publishLagMs.set(view.publisher.lagMs ?? -1);
      publisherTransactions.set(view.publisher.transactions);
      publisherEvents.set(view.publisher.publishedEvents);
      publisherRetries.set(view.publisher.retries);
      publisherRestarts.set(view.publisher.restarts);
      snapshotsTaken.set(view.snapshots.taken);
      snapshotsInstalled.set(view.snapshots.installed);
      tickStalls.set(view.tickStalls);
      if (storage) {
        fsyncs.set(storage.fsyncs);
        fsyncSeconds.set(storage.fsyncSecondsTotal);
      }
    },
  };
}
