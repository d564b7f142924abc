/**
 * `npm run bench:query` — the query API's two figures (issue 7), on real processes: a writer
 * cluster of three nodes publishing to Kafka, the projector and the query API (query-api/server.ts),
 * on the Kafka and Postgres the tests use (KAFKA_BROKERS / DATABASE_URL, or a local broker and the
 * local Postgres), into a fresh database and topic.
 *
 * 1. Eventual balance reads: `GET /v1/accounts/:id` of random accounts (BENCH_QUERY_ACCOUNTS,
 *    default 1,000), BENCH_QUERY_CONCURRENCY (default 32) requests in flight on keep-alive connections
 *    (bench/support/http-client.ts), closed loop, BENCH_QUERY_SECONDS (default 10) per run: the most it serves (target ≥ 10,000
 *    req/s). Then open loop: BENCH_QUERY_OPEN_RATE (default 10,000) reads/s started on a fixed
 *    schedule, latency from each read's scheduled start: p99 at that rate (target ≤ 10 ms; a closed
 *    loop at saturation measures its own queue instead).
 *    Peer, same run: the same row read with a plain prepared `SELECT` through pg, the same number of
 *    callers in flight over as many connections as the query API's pool (QUERY_DATABASE_POOL_SIZE).
 * 2. Strong balance reads: `?consistency=strong`, BENCH_QUERY_STRONG_CONCURRENCY (default 256) in
 *    flight, while transfers are written at BENCH_QUERY_WRITE_RATE (default 1,000/s: 10 per request,
 *    open loop) to the leader. Target ≥ 5,000 req/s, p99 ≤ 25 ms. Peer: the plain SELECT again,
 *    under the same writes. The query API's /metrics give the breakdown (barrier call time, reads
 *    per barrier, time waiting for the projection). Then open loop, under the same writes:
 *    BENCH_QUERY_STRONG_OPEN_RATE (default 5,000) strong reads/s on a fixed schedule, latency from
 *    the scheduled start — with 256 in flight a closed loop's mean latency is 256 / rate (Little's
 *    law: 51 ms at 5,000/s), so only the open loop can show p99 ≤ 25 ms at 5,000/s.
 *
 * Before the runs, BENCH_QUERY_WARMUP_SECONDS (default 30) of the same writes and strong reads,
 * not measured (a cold broker and cold writers made the first run a warm-up). The writes use fresh
 * transfer ids in every run and count only `created` answers (a reused id appends nothing).
 * Every figure is the median of BENCH_QUERY_RUNS (default 3) runs; progress is printed every second.
 * The load generator runs on the same 2 cores as everything it measures.
 */
import os from 'node:os';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import pg from 'pg';
import { Pool } from 'undici';
import { createLogger } from '../common/logger.ts';
import { mulberry32 } from '../projector/test/ledger-history.ts';
import { startQueryPlatform, writeToCluster, type QueryPlatform } from '../query-api/test/query-platform.ts';
import { startTestServices } from '../test/support/services.ts';
import { createTestDatabase, uniqueTopic, type TestDatabase } from '../test/support/isolation.ts';
import { machineFacts, median, writeBenchSummary } from './report/bench-summary.ts';
import { requestText } from './support/http-client.ts';
import { format, percentile, progress } from './support/load.ts';
import { bucketShares, metricDelta, scrapeMetrics, sumByPrefix } from './support/metrics-text.ts';
import { CpuShare, describeCores } from './support/process-cpu.ts';

const log = createLogger('bench-query', 'warn');
const accountsCount = Number(process.env.BENCH_QUERY_ACCOUNTS ?? 1_000);
const concurrency = Number(process.env.BENCH_QUERY_CONCURRENCY ?? 32);
const strongConcurrency = Number(process.env.BENCH_QUERY_STRONG_CONCURRENCY ?? 256);
const seconds = Number(process.env.BENCH_QUERY_SECONDS ?? 10);
const runs = Number(process.env.BENCH_QUERY_RUNS ?? 3);
const writeRate = Number(process.env.BENCH_QUERY_WRITE_RATE ?? 1_000);
const databasePoolSize = Number(process.env.QUERY_DATABASE_POOL_SIZE ?? 16);
const openRate = Number(process.env.BENCH_QUERY_OPEN_RATE ?? 10_000);
const strongOpenRate = Number(process.env.BENCH_QUERY_STRONG_OPEN_RATE ?? 5_000);
const openLoopInFlightMax = 512;
const transfersPerWrite = 10;
const warmupSeconds = 2;
/**
 * Writes and strong reads before the first measured run, not measured: a freshly started broker
 * (and writers, projector) compile their hot paths during the first minute of load, and the first
 * run measured that (strong reads 600–1,200 req/s against ~3,000 once warm).
 */
const pipelineWarmupSeconds = Number(process.env.BENCH_QUERY_WARMUP_SECONDS ?? 30);

interface Measured {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

const accountIds = Array.from({ length: accountsCount }, (_, index) => `acct-${index}`);

/** Closed loop: `inFlight` workers call `operation` back to back for `durationMs`; prints req/s each second. */
async function closedLoop(label: string, inFlight: number, durationMs: number, operation: (random: () => number) => Promise<boolean>): Promise<Measured> {
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  let lastOk = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const ticker = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    progress(`${label} ${elapsed.toFixed(0)} s: ${format(ok - lastOk)} req/s${errors > 0 ? `, ${errors} errors` : ''}`);
    lastOk = ok;
  }, 1_000);
  await Promise.all(Array.from({ length: inFlight }, async (_, worker) => {
    const random = mulberry32(worker + 1);
    while (performance.now() < deadline) {
      const begin = performance.now();
      const success = await operation(random).catch(() => false);
      if (success) {
        ok += 1;
        latencies.push(performance.now() - begin);
      } else {
        errors += 1;
      }
    }
  }));
  clearInterval(ticker);
  const elapsedSeconds = (performance.now() - started) / 1000;
  return { rate: ok / elapsedSeconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), errors };
}

/**
 * Open loop: starts `operation` on a fixed schedule of `rate` per second for `durationMs`, however
 * long earlier ones take (at most `openLoopInFlightMax` in flight; a start beyond that counts as an
 * error). Latency runs from the SCHEDULED start, so a stall of the server or of this generator
 * counts against the figure (no coordinated omission).
 */
async function openLoop(label: string, rate: number, durationMs: number, operation: (random: () => number) => Promise<boolean>): Promise<Measured> {
  const latencies: number[] = [];
  const random = mulberry32(rate);
  const intervalMs = 1_000 / rate;
  const inFlight = new Set<Promise<void>>();
  let ok = 0;
  let errors = 0;
  let started = 0;
  let lastOk = 0;
  const begin = performance.now();
  const ticker = setInterval(() => {
    progress(`${label} ${((performance.now() - begin) / 1000).toFixed(0)} s: ${format(ok - lastOk)} req/s, ${inFlight.size} in flight${errors > 0 ? `, ${errors} errors` : ''}`);
    lastOk = ok;
  }, 1_000);
  for (let now = performance.now(); now - begin < durationMs; now = performance.now()) {
    const due = Math.min(Math.floor((now - begin) / intervalMs), Math.floor(durationMs / intervalMs) - 1);
    for (; started <= due; started += 1) {
      const scheduled = begin + started * intervalMs;
      if (inFlight.size >= openLoopInFlightMax) {
        errors += 1;
        continue;
      }
      const call: Promise<void> = operation(random).then((success) => {
        if (!success) {
          errors += 1;
          return;
        }
        ok += 1;
        latencies.push(performance.now() - scheduled);
      }, () => {
        errors += 1;
      }).finally(() => inFlight.delete(call));
      inFlight.add(call);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inFlight);
  clearInterval(ticker);
  return { rate: ok / (durationMs / 1_000), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), errors };
}

const accountReadBucket = (consistency: string) => (bound: string) => `query_http_request_duration_seconds_bucket{le="${bound}",route="/v1/accounts/:id",consistency="${consistency}",status="200"}`;

/**
 * Runs an open-loop phase and prints how the cores were shared (query API, projector, writers, the
 * local Kafka broker, this generator, the rest — mostly Postgres) and where the API's own timing
 * put the phase's reads: a tail the API did not see comes from queueing in the kernel or from the
 * generator.
 */
async function diagnosed<T>(platform: QueryPlatform, consistency: string, phase: () => Promise<T>): Promise<T> {
  const cpu = new CpuShare([
    ['query-api', platform.queryApi.child.pid], ['projector', platform.projector.child.pid],
    ...platform.cluster.nodes.map((node) => [`writer-${node.id}`, node.process?.child.pid] as const), ['kafka', kafkaPid], ['generator', process.pid],
  ]);
  // Reading /metrics also restarts prom-client's event-loop lag window: the second read covers the phase.
  const before = await scrapeMetrics(platform.queryUrl);
  const generatorDelay = monitorEventLoopDelay({ resolution: 1 });
  generatorDelay.enable();
  const generatorGc = { totalMs: 0, maxMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      generatorGc.totalMs += entry.duration;
      generatorGc.maxMs = Math.max(generatorGc.maxMs, entry.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  cpu.start();
  const result = await phase();
  const cores = cpu.stop();
  generatorDelay.disable();
  gcObserver.disconnect();
  const after = await scrapeMetrics(platform.queryUrl);
  const shares = bucketShares(before, after, accountReadBucket(consistency), ['0.002', '0.005', '0.01', '0.025']) ?? 'no reads answered';
  const ms = (seconds: number) => format(seconds * 1000, 1);
  const gcGrowth = (prefix: string) => sumByPrefix(after, prefix) - sumByPrefix(before, prefix);
  const longGcs = gcGrowth('nodejs_gc_duration_seconds_count') - gcGrowth('nodejs_gc_duration_seconds_bucket{le="0.01"');
  progress(`  the API's own timing: ${shares}; its event-loop lag p99 ${ms(after.get('nodejs_eventloop_lag_p99_seconds') ?? Number.NaN)} ms, max ${ms(after.get('nodejs_eventloop_lag_max_seconds') ?? Number.NaN)} ms; its GC ${ms(gcGrowth('nodejs_gc_duration_seconds_sum'))} ms in all, ${format(longGcs)} pauses over 10 ms; `
    + `this generator's event-loop delay p99 ${ms(generatorDelay.percentile(99) / 1e9)} ms, max ${ms(generatorDelay.max / 1e9)} ms, its GC ${format(generatorGc.totalMs, 1)} ms in all, longest ${format(generatorGc.maxMs, 1)} ms; CPU cores used: ${describeCores(cores)}`);
  return result;
}

/**
 * Ids of the background writes, across every call: a transfer id written again is answered
 * `exists` and appends nothing, so reused ids would leave the log, Kafka and the projection still.
 */
let backgroundWriteSequence = 0;

/**
 * Open loop: one write of `transfersPerWrite` transfers every 1000 / (rate / transfersPerWrite) ms
 * until stopped. `transfers` counts the transfers the writer answered `created` (new events).
 */
function backgroundWrites(leaderUrl: string): { stop: () => Promise<{ transfers: number; seconds: number; errors: number }> } {
  const writers = new Pool(leaderUrl, { connections: 16, keepAliveTimeout: 30_000 });
  const intervalMs = 1_000 / (writeRate / transfersPerWrite);
  const random = mulberry32(99 + backgroundWriteSequence);
  let transfers = 0;
  let errors = 0;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let next = started;
  const loop = (async () => {
    while (!stopped) {
      const wait = next - performance.now();
      next += intervalMs;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (inFlight.size >= 64) {
        errors += 1; // the writers fell behind: this tick is skipped, not queued
        continue;
      }
      const batch = Array.from({ length: transfersPerWrite }, () => {
        const debit = Math.floor(random() * accountsCount);
        const credit = (debit + 1 + Math.floor(random() * (accountsCount - 1))) % accountsCount;
        return { id: `bench-${backgroundWriteSequence++}`, debitAccountId: accountIds[debit]!, creditAccountId: accountIds[credit]!, amount: String(1 + Math.floor(random() * 1_000)), ledger: 1, code: 1 };
      });
      const write = writers.request({ path: '/v1/transfers', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transfers: batch }) })
        .then(async (response) => {
          if (response.statusCode !== 200) {
            await response.body.dump();
            errors += 1;
            return;
          }
          const answer = await response.body.json() as { results: { status: string }[] };
          transfers += answer.results.filter((result) => result.status === 'created').length;
        }, () => {
          errors += 1;
        });
      inFlight.add(write);
      void write.finally(() => inFlight.delete(write));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      await Promise.all(inFlight);
      await writers.close();
      return { transfers, seconds: (performance.now() - started) / 1000, errors };
    },
  };
}

const loadAtStart = os.loadavg();
const services = await startTestServices(log);
/** The local broker, when the bench started it: its CPU is reported apart from "other" (Postgres and the rest). */
const kafkaPid = services.kafkaPid;
let database: TestDatabase<unknown> | undefined;
let platform: QueryPlatform | undefined;
try {
  progress(`[bench:query] ${services.description}`);
  database = await createTestDatabase<unknown>(services.databaseUrl, 'bench_query');
  platform = await startQueryPlatform({
    databaseUrl: database.url, kafkaBrokers: services.kafkaBrokers, topic: uniqueTopic('bench.query'),
    queryEnv: { QUERY_DATABASE_POOL_SIZE: String(databasePoolSize) },
  });
  const leader = await platform.cluster.waitForLeader();
  progress(`platform up (writers, projector, query API at ${platform.queryUrl}); creating ${format(accountsCount)} accounts`);
  const created = await writeToCluster([leader.url], '/v1/accounts', { accounts: accountIds.map((id) => ({ id, ledger: 1, code: 1 })) });
  const projected = await fetch(`${platform.queryUrl}/v1/accounts/${accountIds.at(-1)}?minSeq=${created.body.position.seq}&timeoutMs=30000`);
  if (projected.status !== 200) throw new Error(`accounts not projected: HTTP ${projected.status} ${await projected.text()}`);

  const queryUrl = platform.queryUrl;
  const peerPool = new pg.Pool({ connectionString: database.url, max: databasePoolSize, application_name: 'bench-query-peer' });
  const httpRead = (query: string) => async (random: () => number) => {
    const response = await requestText('GET', `${queryUrl}/v1/accounts/${accountIds[Math.floor(random() * accountsCount)]}${query}`);
    return response.status === 200;
  };
  const peerRead = async (random: () => number) => {
    const result = await peerPool.query({
      name: 'bench-peer-account', values: [accountIds[Math.floor(random() * accountsCount)]],
      text: 'SELECT id, ledger, code, debits_pending, debits_posted, credits_pending, credits_posted, balance, seq FROM ledger.accounts WHERE id = $1',
    });
    return result.rows.length === 1;
  };

  progress(`warming up ${warmupSeconds} s`);
  await closedLoop('[warm-up eventual]', concurrency, warmupSeconds * 1_000, httpRead(''));
  await closedLoop('[warm-up peer]', concurrency, warmupSeconds * 1_000, peerRead);
  if (pipelineWarmupSeconds > 0) {
    progress(`warming up the write pipeline and strong reads ${pipelineWarmupSeconds} s (writes ${format(writeRate)}/s, not measured)`);
    const warmUpWrites = backgroundWrites(leader.url);
    await closedLoop('[warm-up strong, writes]', strongConcurrency, pipelineWarmupSeconds * 1_000, httpRead('?consistency=strong&timeoutMs=10000'));
    const warmed = await warmUpWrites.stop();
    progress(`warm-up: ${format(warmed.transfers / warmed.seconds)} transfers created per second`);
  }

  const eventual: Measured[] = [];
  const eventualPeer: Measured[] = [];
  /** Eventual reads started on a fixed schedule (the target's rate): latency at that rate, not at saturation. */
  const eventualOpen: Measured[] = [];
  const strong: Measured[] = [];
  const strongPeer: Measured[] = [];
  /** Strong reads started on a fixed schedule at the target's rate, under the same writes. */
  const strongOpen: Measured[] = [];
  /** Eventual reads while the writes run: the read cache is invalidated at every checkpoint advance. */
  const eventualUnderWrites: Measured[] = [];
  const writesAchieved: number[] = [];
  const breakdowns: { barrierCalls: number; readsPerBarrier: number; barrierMs: number; waitMs: number }[] = [];
  for (let run = 1; run <= runs; run += 1) {
    eventual.push(await closedLoop(`[eventual ${run}/${runs}]`, concurrency, seconds * 1_000, httpRead('')));
    eventualOpen.push(await diagnosed(platform, 'eventual', () => openLoop(`[eventual at ${format(openRate)}/s offered ${run}/${runs}]`, openRate, seconds * 1_000, httpRead(''))));
    eventualPeer.push(await closedLoop(`[peer SELECT ${run}/${runs}]`, concurrency, seconds * 1_000, peerRead));

    const writes = backgroundWrites(leader.url);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const before = await scrapeMetrics(platform.queryUrl);
    strong.push(await closedLoop(`[strong ${run}/${runs}, writes ${format(writeRate)}/s]`, strongConcurrency, seconds * 1_000, httpRead('?consistency=strong&timeoutMs=10000')));
    const after = await scrapeMetrics(platform.queryUrl);
    strongOpen.push(await diagnosed(platform, 'strong', () => openLoop(`[strong at ${format(strongOpenRate)}/s offered ${run}/${runs}, writes ${format(writeRate)}/s]`, strongOpenRate, seconds * 1_000, httpRead('?consistency=strong&timeoutMs=10000'))));
    strongPeer.push(await closedLoop(`[peer SELECT under writes ${run}/${runs}]`, concurrency, seconds * 1_000, peerRead));
    eventualUnderWrites.push(await closedLoop(`[eventual under writes ${run}/${runs}]`, concurrency, seconds * 1_000, httpRead('')));
    const written = await writes.stop();
    writesAchieved.push(written.transfers / written.seconds);
    const barrierCalls = metricDelta(before, after, 'query_barrier_calls_total{outcome="ok"}');
    breakdowns.push({
      barrierCalls,
      readsPerBarrier: metricDelta(before, after, 'query_barrier_reads_per_call_sum') / Math.max(1, metricDelta(before, after, 'query_barrier_reads_per_call_count')),
      barrierMs: 1_000 * metricDelta(before, after, 'query_barrier_call_duration_seconds_sum') / Math.max(1, metricDelta(before, after, 'query_barrier_call_duration_seconds_count')),
      waitMs: 1_000 * metricDelta(before, after, 'query_checkpoint_wait_duration_seconds_sum') / Math.max(1, metricDelta(before, after, 'query_checkpoint_wait_duration_seconds_count')),
    });
    progress(`run ${run}: transfers created ${format(written.transfers / written.seconds)}/s (${written.errors} errors/skipped ticks); `
      + `barrier calls ${format(barrierCalls)}, reads per call ${breakdowns.at(-1)!.readsPerBarrier.toFixed(1)}, `
      + `mean barrier ${breakdowns.at(-1)!.barrierMs.toFixed(1)} ms, mean projection wait ${breakdowns.at(-1)!.waitMs.toFixed(1)} ms`);
  }
  await peerPool.end();

  const summary = (measured: Measured[]) => ({
    rate: median(measured.map((run) => run.rate)), p50: median(measured.map((run) => run.p50)), p99: median(measured.map((run) => run.p99)),
    errors: measured.reduce((sum, run) => sum + run.errors, 0),
  });
  const [e, ep, s, sp, ew, eo, so] = [summary(eventual), summary(eventualPeer), summary(strong), summary(strongPeer), summary(eventualUnderWrites), summary(eventualOpen), summary(strongOpen)];
  const loadAtEnd = os.loadavg();
  const line = (name: string, figures: ReturnType<typeof summary>, inFlight: number) =>
    `${name.padEnd(34)} ${format(figures.rate).padStart(7)} req/s  p50 ${figures.p50.toFixed(2).padStart(7)} ms  p99 ${figures.p99.toFixed(2).padStart(7)} ms  (${inFlight} in flight, ${figures.errors} errors)`;
  console.log(`\n== query benchmark (median of ${runs} runs of ${seconds} s) ==`);
  console.log(line('eventual GET /v1/accounts/:id', e, concurrency));
  console.log(line('peer: plain SELECT via pg', ep, concurrency));
  console.log(`${`eventual at ${format(openRate)}/s offered`.padEnd(34)} ${format(eo.rate).padStart(7)} req/s  p50 ${eo.p50.toFixed(2).padStart(7)} ms  p99 ${eo.p99.toFixed(2).padStart(7)} ms  (open loop, latency from the scheduled start, ${eo.errors} errors)`);
  console.log(line(`strong, writes at ${format(writeRate)}/s`, s, strongConcurrency));
  console.log(`${`strong at ${format(strongOpenRate)}/s offered`.padEnd(34)} ${format(so.rate).padStart(7)} req/s  p50 ${so.p50.toFixed(2).padStart(7)} ms  p99 ${so.p99.toFixed(2).padStart(7)} ms  (open loop under the same writes, latency from the scheduled start, ${so.errors} errors)`);
  console.log(line('peer: plain SELECT under writes', sp, concurrency));
  console.log(line('eventual under the same writes', ew, concurrency));
  console.log(`writes: ${writesAchieved.map((rate) => format(rate)).join(', ')} transfers created per second`);
  console.log(`strong-read breakdown per run: ${breakdowns.map((b) => `${format(b.barrierCalls)} barrier calls, ${b.readsPerBarrier.toFixed(1)} reads/call, barrier ${b.barrierMs.toFixed(1)} ms, wait ${b.waitMs.toFixed(1)} ms`).join(' | ')}`);
  console.log(`targets: eventual ≥ 10,000 req/s (closed loop, most the API serves) and p99 ≤ 10 ms at 10,000 req/s (open loop); strong ≥ 5,000 req/s and p99 ≤ 25 ms (open loop at 5,000/s)`);
  console.log(`load average at start ${loadAtStart.map((load) => load.toFixed(2)).join(' ')}, at the end ${loadAtEnd.map((load) => load.toFixed(2)).join(' ')}; ${os.cpus().length} cores`);
  writeBenchSummary({
    bench: 'query', measuredAt: new Date().toISOString(), machine: machineFacts(loadAtStart),
    settings: { accountsCount, concurrency, strongConcurrency, seconds, runs, writeRate, databasePoolSize, openRate, strongOpenRate },
    figures: [
      {
        name: `eventual balance reads (${concurrency} in flight)`, value: Math.round(e.rate), unit: 'req/s', runs: eventual.map((run) => Math.round(run.rate)),
        target: { kind: 'min', value: 10_000 }, peer: { name: 'plain SELECT via pg', value: Math.round(ep.rate), unit: 'req/s' }, ratio: e.rate / ep.rate,
      },
      { name: `eventual balance reads p99 (${concurrency} in flight, saturated)`, value: Number(e.p99.toFixed(2)), unit: 'ms', runs: eventual.map((run) => Number(run.p99.toFixed(2))) },
      {
        name: `eventual balance reads at ${openRate}/s offered (open loop): served`, value: Math.round(eo.rate), unit: 'req/s', runs: eventualOpen.map((run) => Math.round(run.rate)),
        target: { kind: 'min', value: 0.99 * 10_000 },
      },
      { name: `eventual balance reads at ${openRate}/s offered (open loop): p99`, value: Number(eo.p99.toFixed(2)), unit: 'ms', runs: eventualOpen.map((run) => Number(run.p99.toFixed(2))), target: { kind: 'max', value: 10 } },
      {
        name: `strong balance reads, writes at ${writeRate}/s (${strongConcurrency} in flight)`, value: Math.round(s.rate), unit: 'req/s', runs: strong.map((run) => Math.round(run.rate)),
        target: { kind: 'min', value: 5_000 }, peer: { name: 'plain SELECT via pg under the same writes', value: Math.round(sp.rate), unit: 'req/s' }, ratio: s.rate / sp.rate,
      },
      { name: `strong balance reads p99 (${strongConcurrency} in flight, saturated)`, value: Number(s.p99.toFixed(2)), unit: 'ms', runs: strong.map((run) => Number(run.p99.toFixed(2))) },
      {
        name: `strong balance reads at ${strongOpenRate}/s offered (open loop, writes at ${writeRate}/s): served`, value: Math.round(so.rate), unit: 'req/s', runs: strongOpen.map((run) => Math.round(run.rate)),
        target: { kind: 'min', value: 0.99 * 5_000 },
      },
      { name: `strong balance reads at ${strongOpenRate}/s offered (open loop): p99`, value: Number(so.p99.toFixed(2)), unit: 'ms', runs: strongOpen.map((run) => Number(run.p99.toFixed(2))), target: { kind: 'max', value: 25 } },
      {
        name: `eventual balance reads under writes at ${writeRate}/s (${concurrency} in flight)`, value: Math.round(ew.rate), unit: 'req/s', runs: eventualUnderWrites.map((run) => Math.round(run.rate)),
        peer: { name: 'plain SELECT via pg under the same writes', value: Math.round(sp.rate), unit: 'req/s' }, ratio: ew.rate / sp.rate,
      },
      { name: 'eventual balance reads under writes p99', value: Number(ew.p99.toFixed(2)), unit: 'ms', runs: eventualUnderWrites.map((run) => Number(run.p99.toFixed(2))) },
    ],
  });
} finally {
  await platform?.stop().catch((error: unknown) => console.error(error));
  await database?.drop().catch((error: unknown) => console.error(error));
  await services.stop();
}
