/**
 * `npm run bench:writer`: the writer cluster (3 real node processes, fsync on) measured side by side,
 * in the same run and with the same load generator, with its peers:
 *   - a 3-member etcd cluster (Debian's etcd-server), puts of a 200-byte value;
 *   - a plain single-node Postgres transfer transaction (update two balances, insert an entry).
 * Every run measures ours, then etcd and Postgres, then ours at half rate, so peers and ours see
 * the same minute of a shared machine. Every system is warm when measured: before the runs our
 * cluster gets `warmupMs` of unmeasured load (half batched, half single transfers), and each fresh
 * etcd cluster as long of puts before its measured phase. Figures (medians of `runs` runs):
 *   1. batched transfers/s: requests of `batchItems` transfers to the leader;
 *   2. single-transfer requests/s at concurrency 64, vs etcd puts/s and Postgres tps at 64;
 *   3. p99 latency of single-transfer requests at half of our maximum rate.
 * Results go to stdout and bench/results/writer.json; BENCHMARKS.md records them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePortRange } from '../test/support/processes.ts';
import { postJson, WriterCluster, type WriterProcess } from '../test/support/writer-cluster.ts';
import { etcdPut, requireEtcd, startEtcdCluster } from './support/etcd-cluster.ts';
import { machineFacts, writeBenchSummary } from './report/bench-summary.ts';
import { postText } from './support/http-client.ts';
import { format, median, percentile, progress, runLoad, type LoadResult } from './support/load.ts';
import { bucketShares, scrapeMetrics } from './support/metrics-text.ts';
import { CpuShare, describeCores } from './support/process-cpu.ts';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 8_000);
/**
 * Unmeasured load before measuring (0 = none). A fresh writer process ran its first 8 s of single
 * transfers at 241–400 µs of CPU per request against 156–184 µs once warm (JIT, young-generation
 * growth); etcd, a compiled Go binary restarted for every run, showed no such first run.
 */
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 4_000);
const batchItems = Number(process.env.BENCH_BATCH_ITEMS ?? 4_000);
const batchConcurrency = Number(process.env.BENCH_BATCH_CONCURRENCY ?? 4);
const singleConcurrency = 64;
/** Comma-separated subset of batched,single,half (profiling one phase at a time). */
const phases = new Set((process.env.BENCH_PHASES ?? 'batched,single,half').split(','));
/** `false` measures our writer only (no etcd, no Postgres): for profiling, not for recorded figures. */
const measurePeers = process.env.BENCH_PEERS !== 'false';
/** Extra Node options for the writer processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
const writerNodeOptions = process.env.BENCH_WRITER_NODE_OPTIONS;
const accountsCount = 10_000;
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function pair(sequence: number): [number, number] {
  const debit = (sequence * 7919) % accountsCount;
  const credit = (debit + 1 + (sequence % (accountsCount - 1))) % accountsCount;
  return [debit, credit];
}

function transferJson(id: string, sequence: number): string {
  const [debit, credit] = pair(sequence);
  return `{"id":"${id}","debitAccountId":"a-${debit}","creditAccountId":"a-${credit}","amount":"${1 + (sequence % 1000)}","ledger":1,"code":1}`;
}


async function setUpLedger(leader: WriterProcess): Promise<void> {
  for (let start = 0; start < accountsCount; start += 5_000) {
    const accounts = Array.from({ length: Math.min(5_000, accountsCount - start) }, (_, index) => ({ id: `a-${start + index}`, ledger: 1, code: 1 }));
    const answer = await postJson(`${leader.url}/v1/accounts`, { accounts }, 60_000);
    if (answer.status !== 200) throw new Error(`creating accounts failed: ${JSON.stringify(answer.body)}`);
  }
}

function summarize(result: LoadResult): { perSecond: number; itemsPerSecond: number; p50: number; p99: number; errors: string } {
  const kinds = Object.entries(result.errorKinds).map(([kind, count]) => `${count}× ${kind}`).join('; ');
  return {
    perSecond: result.operations / result.seconds,
    itemsPerSecond: result.items / result.seconds,
    p50: percentile(result.latenciesMs, 0.5),
    p99: percentile(result.latenciesMs, 0.99),
    errors: result.errors === 0 ? '0' : `${result.errors} (${kinds})`,
  };
}

const transferLatencyBucket = (bound: string) => `ledger_writer_request_seconds_bucket{le="${bound}",route="/v1/transfers",status="200"}`;

/** The leader's count of Raft log fsyncs and their total time (from its /metrics), to see how many requests share one. */
async function leaderFsyncs(leader: WriterProcess): Promise<{ count: number; seconds: number }> {
  const values = await scrapeMetrics(leader.url);
  return { count: values.get('ledger_writer_fsyncs_total') ?? Number.NaN, seconds: values.get('ledger_writer_fsync_seconds_total') ?? Number.NaN };
}

/** "; the leader's own timing: 97.10% ≤ 10 ms, …": where the leader itself saw the requests of a phase end. */
async function serverLatencyNote(leader: WriterProcess, before: Map<string, number>): Promise<string> {
  const shares = bucketShares(before, await scrapeMetrics(leader.url), transferLatencyBucket, ['0.005', '0.01', '0.025', '0.05']);
  return shares === undefined ? '' : `; the leader's own timing: ${shares}`;
}

async function fsyncNote(leader: WriterProcess, before: { count: number; seconds: number }, result: ReturnType<typeof summarize>): Promise<string> {
  const after = await leaderFsyncs(leader);
  const fsyncs = after.count - before.count;
  const meanMs = ((after.seconds - before.seconds) / fsyncs) * 1000;
  return `; leader fsyncs ${format(fsyncs)} (${format(fsyncs / (durationMs / 1000))}/s, ${format((result.perSecond * durationMs) / 1000 / fsyncs, 1)} requests each, mean ${format(meanMs, 2)} ms)`;
}

/**
 * Our figures; `peersRun(run)` is awaited in every run right after our single-transfer phase, so
 * etcd and Postgres are measured minutes — not a whole benchmark — apart from us on this shared
 * machine, whose load changes by the minute.
 */
/**
 * Runs a phase while measuring how the cores were shared: every writer process, this process (the
 * load generator), the rest of the machine; and the writers' CPU per item (µs), which bounds the
 * rate this machine can reach whatever the code's latency.
 */
async function withCpuShare(cluster: WriterCluster, phase: () => Promise<LoadResult>): Promise<{ result: LoadResult; note: string }> {
  const cpu = new CpuShare([...cluster.nodes.map((node) => [`writer-${node.id}`, node.process?.child.pid] as const), ['generator', process.pid]]);
  cpu.start();
  const result = await phase();
  const cores = cpu.stop();
  const writers = [...cores].filter(([name]) => name.startsWith('writer-')).reduce((sum, [, value]) => sum + value, 0);
  const itemsPerSecond = result.items / result.seconds;
  const perItemUs = itemsPerSecond > 0 ? (writers / itemsPerSecond) * 1e6 : 0;
  return { result, note: `; CPU cores used: ${describeCores(cores)}; writers' CPU ${format(perItemUs, 1)} µs per transfer` };
}

async function measureWriter(peersRun: (run: number) => Promise<void>): Promise<Record<string, number[]>> {
  // The consensus and ledger path alone, as etcd is measured: no Kafka publisher on the leader
  // (bench:publisher measures that stage; without a broker it would only retry in the background).
  const cluster = await WriterCluster.create(3, { LOG_LEVEL: 'error', WRITER_PUBLISHER: 'off', ...(writerNodeOptions ? { NODE_OPTIONS: writerNodeOptions } : {}) });
  const figures: Record<string, number[]> = { batchedTransfersPerSecond: [], batchedP99Ms: [], singleRequestsPerSecond: [], singleP99Ms: [], halfRateP99Ms: [], halfRateAchieved: [] };
  try {
    await cluster.startAll();
    let leader = await cluster.waitForLeader();
    progress(`writer cluster up, leader node ${leader.id}; creating ${accountsCount} accounts`);
    await setUpLedger(leader);
    // Each phase goes to the node leading when it starts, as a client following `leaderId` would:
    // after a leader change, requests sent to the old leader would be forwarded over HTTP and the
    // phase would measure the forwarding, and the fsync count the old leader's.
    const followLeader = async (): Promise<void> => {
      const current = await cluster.waitForLeader();
      if (current.id !== leader.id) progress(`leader changed: node ${leader.id} → node ${current.id}; the next phases go to node ${current.id}`);
      leader = current;
    };
    let unique = 0;
    const batchedOperation = async (): Promise<number> => {
      const parts: string[] = [];
      for (let item = 0; item < batchItems; item += 1) {
        unique += 1;
        parts.push(transferJson(`b-${unique}`, unique));
      }
      const answer = await postText(`${leader.url}/v1/transfers`, `{"transfers":[${parts.join(',')}]}`);
      if (answer.status !== 200) throw new Error(answer.text);
      return batchItems;
    };
    const singleOperation = (prefix: string) => async (): Promise<number> => {
      unique += 1;
      const answer = await postText(`${leader.url}/v1/transfers`, `{"transfers":[${transferJson(`${prefix}-${unique}`, unique)}]}`);
      if (answer.status !== 200) throw new Error(answer.text);
      return 1;
    };
    if (warmupMs > 0) {
      progress(`warming up: ${format(warmupMs / 1000, 1)} s of unmeasured load (half batched, half single transfers)`);
      if (phases.has('batched')) await runLoad({ concurrency: batchConcurrency, durationMs: warmupMs / 2, operation: batchedOperation });
      if (phases.has('single') || phases.has('half')) await runLoad({ concurrency: singleConcurrency, durationMs: warmupMs / 2, operation: singleOperation('w') });
    }
    for (let run = 1; run <= runs; run += 1) {
      const stallsBefore = await cluster.tickStalls();
      if (phases.has('batched')) {
      await followLeader();
      const fsyncsBefore = await leaderFsyncs(leader);
      const batchedRun = await withCpuShare(cluster, () => runLoad({ concurrency: batchConcurrency, durationMs, operation: batchedOperation }));
      const batched = summarize(batchedRun.result);
      figures.batchedTransfersPerSecond!.push(batched.itemsPerSecond);
      figures.batchedP99Ms!.push(batched.p99);
      progress(`run ${run}/${runs} batched (${batchItems}/request, ${batchConcurrency} clients): ${format(batched.itemsPerSecond)} transfers/s, p99 ${format(batched.p99, 1)} ms, errors ${batched.errors}${await fsyncNote(leader, fsyncsBefore, batched)}${batchedRun.note}`);
      }

      let halfRate = Number(process.env.BENCH_HALF_RATE ?? 0);
      if (phases.has('single')) {
      await followLeader();
      const fsyncsBefore = await leaderFsyncs(leader);
      const singleRun = await withCpuShare(cluster, () => runLoad({ concurrency: singleConcurrency, durationMs, operation: singleOperation('s') }));
      const single = summarize(singleRun.result);
      figures.singleRequestsPerSecond!.push(single.perSecond);
      figures.singleP99Ms!.push(single.p99);
      progress(`run ${run}/${runs} single transfer, concurrency ${singleConcurrency}: ${format(single.perSecond)} requests/s, p50 ${format(single.p50, 1)} ms, p99 ${format(single.p99, 1)} ms, errors ${single.errors}${await fsyncNote(leader, fsyncsBefore, single)}${singleRun.note}`);
      halfRate = Math.max(1, Math.floor(single.perSecond / 2));
      }

      await peersRun(run);

      if (phases.has('half') && halfRate > 0) {
      await followLeader();
      const fsyncsBefore = await leaderFsyncs(leader);
      const latencyBefore = await scrapeMetrics(leader.url);
      const halfRun = await withCpuShare(cluster, () => runLoad({ concurrency: singleConcurrency, durationMs, ratePerSecond: halfRate, operation: singleOperation('h') }));
      const half = summarize(halfRun.result);
      figures.halfRateP99Ms!.push(half.p99);
      figures.halfRateAchieved!.push(half.perSecond);
      progress(`run ${run}/${runs} at half rate (${format(halfRate)}/s offered): ${format(half.perSecond)} requests/s, p50 ${format(half.p50, 1)} ms, p99 ${format(half.p99, 1)} ms, errors ${half.errors}${await fsyncNote(leader, fsyncsBefore, half)}${await serverLatencyNote(leader, latencyBefore)}${halfRun.note}`);
      }
      progress(`run ${run}/${runs} event-loop stalls ≥ 100 ms per node: ${await cluster.tickStallsSince(stallsBefore)}`);
    }
  } finally {
    await cluster.stopAll().catch(() => undefined);
    await cluster.destroy();
  }
  return figures;
}

interface Peer {
  run(run: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * etcd measured like ours: its most puts/s at concurrency 64, then p99 at half that rate (open
 * loop). Each run gets a fresh 3-member cluster, stopped after its phases: left running, etcd's
 * background work (its own snapshots and compaction of the puts) took 0.2–0.3 cores from our next
 * phases on this 2-core machine.
 */
async function startEtcdPeer(): Promise<Peer & { readonly halfRateP99Ms: number[] }> {
  let etcd = await startEtcdCluster(await freePortRange(20));
  let fresh = true;
  const value = 'v'.repeat(200);
  const halfRateP99Ms: number[] = [];
  let key = 0;
  const put = async (worker: number) => {
    key += 1;
    await etcdPut(etcd.clientUrls[worker % etcd.clientUrls.length]!, `key-${key % 100_000}`, value);
    return 1;
  };
  return {
    halfRateP99Ms,
    async run(run) {
      if (!fresh) etcd = await startEtcdCluster(await freePortRange(20));
      fresh = false;
      if (warmupMs > 0) await runLoad({ concurrency: singleConcurrency, durationMs: warmupMs, operation: put });
      const cpu = new CpuShare([...etcd.pids.map((pid, index) => [`etcd-${index + 1}`, pid] as const), ['generator', process.pid]]);
      cpu.start();
      const result = summarize(await runLoad({
        concurrency: singleConcurrency, durationMs,
        operation: put,
      }));
      const cores = cpu.stop();
      const members = [...cores].filter(([name]) => name.startsWith('etcd-')).reduce((sum, [, used]) => sum + used, 0);
      const perPutUs = result.perSecond > 0 ? (members / result.perSecond) * 1e6 : 0;
      progress(`run ${run}/${runs} etcd 3 members, 200-byte puts, concurrency ${singleConcurrency}: ${format(result.perSecond)} puts/s, p50 ${format(result.p50, 1)} ms, p99 ${format(result.p99, 1)} ms, errors ${result.errors}; CPU cores used: ${describeCores(cores)}; members' CPU ${format(perPutUs, 1)} µs per put`);
      const halfRate = Math.max(1, Math.floor(result.perSecond / 2));
      const half = summarize(await runLoad({ concurrency: singleConcurrency, durationMs, ratePerSecond: halfRate, operation: put }));
      halfRateP99Ms.push(half.p99);
      progress(`run ${run}/${runs} etcd at half its rate (${format(halfRate)}/s offered): ${format(half.perSecond)} puts/s, p50 ${format(half.p50, 1)} ms, p99 ${format(half.p99, 1)} ms, errors ${half.errors}`);
      await etcd.stop();
      return result.perSecond;
    },
    stop: () => etcd.stop(),
  };
}

async function startPostgresPeer(): Promise<Peer> {
  const database = `bench_writer_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: singleConcurrency });
  await pool.query('CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL)');
  await pool.query('CREATE TABLE entries (id bigserial PRIMARY KEY, debit_account_id text NOT NULL, credit_account_id text NOT NULL, amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
  await pool.query(`INSERT INTO accounts SELECT 'a-' || n, 0 FROM generate_series(0, ${accountsCount - 1}) AS n`);
  return {
    async run(run) {
      const result = summarize(await runLoad({
        concurrency: singleConcurrency, durationMs,
        operation: async (_worker, sequence) => {
          const [debit, credit] = pair(sequence);
          const amount = 1 + (sequence % 1000);
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            // One statement updates both balances (the usual way to write it without a lock-order dance).
            await client.query('UPDATE accounts SET balance = balance + CASE WHEN id = $1 THEN -$3::bigint ELSE $3::bigint END WHERE id IN ($1, $2)', [`a-${debit}`, `a-${credit}`, amount]);
            await client.query('INSERT INTO entries (debit_account_id, credit_account_id, amount) VALUES ($1, $2, $3)', [`a-${debit}`, `a-${credit}`, amount]);
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw error;
          } finally {
            client.release();
          }
          return 1;
        },
      }));
      progress(`run ${run}/${runs} plain Postgres transfer transaction, ${singleConcurrency} clients: ${format(result.perSecond)} tps, p99 ${format(result.p99, 1)} ms, errors ${result.errors}`);
      // Settle Postgres's debt from this phase now (vacuum of the updated balances, the dirty
      // pages), rather than in autovacuum and checkpoints during our next phases.
      await pool.query('VACUUM ANALYZE accounts, entries');
      await pool.query('CHECKPOINT');
      return result.perSecond;
    },
    async stop() {
      await pool.end();
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

if (measurePeers) requireEtcd();
const loadAverageBefore = os.loadavg();
progress(`bench:writer — ${runs} runs of ${durationMs / 1000} s each per figure; machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average before: ${loadAverageBefore.map((value) => value.toFixed(2)).join(' ')}`);
const etcd: number[] = [];
const postgres: number[] = [];
const etcdPeer = measurePeers ? await startEtcdPeer() : undefined;
const postgresPeer = measurePeers ? await startPostgresPeer() : undefined;
let writer: Record<string, number[]>;
try {
  writer = await measureWriter(async (run) => {
    if (etcdPeer !== undefined) etcd.push(await etcdPeer.run(run));
    if (postgresPeer !== undefined) postgres.push(await postgresPeer.run(run));
  });
} finally {
  await etcdPeer?.stop();
  await postgresPeer?.stop();
}
if (!measurePeers) {
  progress('BENCH_PEERS=false: writer only, no etcd or Postgres figures; bench/results/writer.json left as it was');
  process.exit(0);
}
const ours = median(writer.singleRequestsPerSecond!);
const results = {
  date: new Date().toISOString(),
  machine: { cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverageBefore, loadAverageAfter: os.loadavg() },
  settings: { runs, durationMs, warmupMs, batchItems, batchConcurrency, singleConcurrency, accountsCount, fsync: true, nodes: 3 },
  writer: Object.fromEntries(Object.entries(writer).map(([name, values]) => [name, { median: median(values), runs: values }])),
  etcdPutsPerSecond: { median: median(etcd), runs: etcd },
  etcdHalfRateP99Ms: { median: median(etcdPeer?.halfRateP99Ms ?? []), runs: etcdPeer?.halfRateP99Ms ?? [] },
  postgresTransfersPerSecond: { median: median(postgres), runs: postgres },
  ratios: {
    singleVsEtcd: ours / median(etcd), singleVsPostgres: ours / median(postgres), batchedVsPostgres: median(writer.batchedTransfersPerSecond!) / median(postgres),
    // Each run's ours ÷ etcd, measured a minute apart: steadier than the ratio of medians on a busy machine.
    singleVsEtcdPerRun: writer.singleRequestsPerSecond!.map((value, index) => value / etcd[index]!),
  },
};
mkdirSync(path.join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(path.join(import.meta.dirname, 'results', 'writer.json'), `${JSON.stringify(results, null, 2)}\n`);
const figure = (name: string) => results.writer[name]!;
writeBenchSummary({
  bench: 'writer', measuredAt: results.date, machine: machineFacts(loadAverageBefore),
  settings: { nodes: 3, fsync: true, runs, durationMs, warmupMs, batchItems, batchConcurrency, singleConcurrency, accountsCount },
  figures: [
    {
      name: `batched, ${batchItems} transfers per request`, value: figure('batchedTransfersPerSecond').median, unit: 'transfers/s',
      runs: figure('batchedTransfersPerSecond').runs, target: { kind: 'min', value: 100_000 },
      peer: { name: 'plain Postgres transfer txn', value: results.postgresTransfersPerSecond.median, unit: 'tps' }, ratio: results.ratios.batchedVsPostgres,
    },
    {
      name: `one transfer per request, concurrency ${singleConcurrency}`, value: ours, unit: 'requests/s', runs: figure('singleRequestsPerSecond').runs,
      peer: { name: 'etcd 3 members, 200-byte puts', value: median(etcd), unit: 'puts/s' }, ratio: results.ratios.singleVsEtcd, ratioTarget: { kind: 'min', value: 2 },
    },
    {
      name: 'p99 at half our max single-transfer rate', value: figure('halfRateP99Ms').median, unit: 'ms', runs: figure('halfRateP99Ms').runs,
      target: { kind: 'max', value: 10 },
      peer: { name: 'etcd: p99 at half its max rate', value: results.etcdHalfRateP99Ms.median, unit: 'ms' },
    },
  ],
});
console.log('\nbench:writer (medians)');
console.log(`  batched, ${batchItems} transfers/request:        ${format(results.writer.batchedTransfersPerSecond!.median)} transfers/s (target ≥ 100,000)`);
console.log(`  single transfer, concurrency ${singleConcurrency}:        ${format(ours)} requests/s, p99 ${format(results.writer.singleP99Ms!.median, 1)} ms`);
console.log(`  etcd 3 members, 200-byte puts, concurrency ${singleConcurrency}: ${format(median(etcd))} puts/s → ours / etcd = ${format(results.ratios.singleVsEtcd, 2)} (target ≥ 2); per run ${results.ratios.singleVsEtcdPerRun.map((ratio) => format(ratio, 2)).join(', ')}`);
console.log(`  plain Postgres transfer txn, ${singleConcurrency} clients: ${format(median(postgres))} tps → ours / Postgres = ${format(results.ratios.singleVsPostgres, 2)} (single), ${format(results.ratios.batchedVsPostgres, 2)} (batched)`);
console.log(`  p99 at half our max rate:                    ${format(results.writer.halfRateP99Ms!.median, 1)} ms (target ≤ 10); etcd at half its max rate: ${format(results.etcdHalfRateP99Ms.median, 1)} ms`);
