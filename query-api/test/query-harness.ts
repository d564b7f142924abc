/**
 * Test support: the query app in-process (app.inject) over a real test database, with its real
 * LISTEN waiter and a barrier client pointed at the given writer URLs (by default a closed port, so
 * strong reads find no writer).
 */
import type pg from 'pg';
import { createPool } from '../../common/database/connect.ts';
import type { HttpApp } from '../../common/http/create-app.ts';
import { createLogger } from '../../common/logger.ts';
import { buildQueryApp } from '../app.ts';
import { BarrierClient } from '../barrier-client.ts';
import { CheckpointWaiter, type CheckpointWaiterOptions } from '../checkpoint-waiter.ts';
import { QueryMetrics } from '../metrics.ts';

export interface QueryHarness {
  readonly app: HttpApp;
  readonly pool: pg.Pool;
  readonly waiter: CheckpointWaiter;
  readonly barrier: BarrierClient;
  readonly metrics: QueryMetrics;
  close(): Promise<void>;
}

/** A URL nothing listens on (port 9 is discard; connections are refused on loopback). */
export const unreachableWriterUrl = 'http://127.0.0.1:9';

export async function startQueryHarness(databaseUrl: string, options: {
  writerUrls?: string[]; shards?: number; waiter?: Partial<CheckpointWaiterOptions>; barrierAttemptTimeoutMs?: number;
} = {}): Promise<QueryHarness> {
  const log = createLogger('query-api-test', (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'error');
  const metrics = new QueryMetrics();
  const pool = createPool({ url: databaseUrl, applicationName: 'query-api-test', poolSizeMax: 8 });
  const waiter = new CheckpointWaiter({ databaseUrl, log, metrics, ...options.waiter });
  await waiter.start();
  const barrier = new BarrierClient({ writerUrls: options.writerUrls ?? [unreachableWriterUrl], log, metrics, attemptTimeoutMs: options.barrierAttemptTimeoutMs ?? 2_000 });
  const app = await buildQueryApp({ db: pool, log, metrics, waiter, barrier, shards: options.shards ?? 1 });
  await app.ready();
  return {
    app, pool, waiter, barrier, metrics,
    close: async () => {
      await app.close();
      await waiter.stop();
      await pool.end();
    },
  };
}

/** The sum of the matching series of a metric (histograms: name it `…_sum`, `…_count`), 0 when absent. */
export async function metricValue(metrics: QueryMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const histogramPart = /_(sum|count)$/.exec(name);
  const metric = metrics.registry.getSingleMetric(name) ?? (histogramPart ? metrics.registry.getSingleMetric(name.slice(0, histogramPart.index)) : undefined);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const matching = values.filter((value) => ((value as { metricName?: string }).metricName ?? name) === name
    && Object.entries(labels).every(([key, expected]) => String((value.labels as Record<string, unknown>)[key]) === expected));
  return matching.reduce((sum, value) => sum + value.value, 0);
}
