/**
 * `npm run bench:writer`: the writer cluster (3 real node processes, fsync on) measured side by side,
 * in the same run and with the same load generator, with its peers:
 *   - a 3-member etcd cluster (Debian's etcd-server), puts of a 200-byte value;
 *   - a plain single-node Postgres transfer transaction (update two balances, insert an entry).
 * Figures (medians of `runs` runs):
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
import { format, median, percentile, progress, runLoad, type LoadResult } from './support/load.ts';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 8_000);
const batchItems = Number(process.env.BENCH_BATCH_ITEMS ?? 4_000);
const batchConcurrency = Number(process.env.BENCH_BATCH_CONCURRENCY ?? 4);
const singleConcurrency = 64;
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

async function postRaw(url: string, body: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, text: await response.text() };
}

async function setUpLedger(leader: WriterProcess): Promise<void> {
  for (let start = 0; start < accountsCount; start += 5_000) {
    const accounts = Array.from({ length: Math.min(5_000, accountsCount - start) }, (_, index) => ({ id: `a-${start + index}`, ledger: 1, code: 1 }));
    const answer = await postJson(`${leader.url}/v1/accounts`, { accounts }, 60_000);
    if (answer.status !== 200) throw new Error(`creating accounts failed: ${JSON.stringify(answer.body)}`);
  }
}

function summarize(result: LoadResult): { perSecond: number; itemsPerSecond: number; p50: number; p99: number; errors: number } {
  return {
    perSecond: result.operations / result.seconds,
    itemsPerSecond: result.items / result.seconds,
    p50: percentile(result.latenciesMs, 0.5),
    p99: percentile(result.latenciesMs, 0.99),
    errors: result.errors,
  };
}

async function measureWriter(): Promise<Record<string, number[]>> {
  const cluster = await WriterCluster.create(3, { LOG_LEVEL: 'error' });
  const figures: Record<string, number[]> = { batchedTransfersPerSecond: [], batchedP99Ms: [], singleRequestsPerSecond: [], singleP99Ms: [], halfRateP99Ms: [], halfRateAchieved: [] };
  try {
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    progress(`writer cluster up, leader node ${leader.id}; creating ${accountsCount} accounts`);
    await setUpLedger(leader);
    let unique = 0;
    for (let run = 1; run <= runs; run += 1) {
      const batched = summarize(await runLoad({
        concurrency: batchConcurrency, durationMs,
        operation: async () => {
          const parts: string[] = [];
          for (let item = 0; item < batchItems; item += 1) {
            unique += 1;
            parts.push(transferJson(`b-${unique}`, unique));
          }
          const answer = await postRaw(`${leader.url}/v1/transfers`, `{"transfers":[${parts.join(',')}]}`);
          if (answer.status !== 200) throw new Error(answer.text);
          return batchItems;
        },
      }));
      figures.batchedTransfersPerSecond!.push(batched.itemsPerSecond);
      figures.batchedP99Ms!.push(batched.p99);
      progress(`run ${run}/${runs} batched (${batchItems}/request, ${batchConcurrency} clients): ${format(batched.itemsPerSecond)} transfers/s, p99 ${format(batched.p99, 1)} ms, errors ${batched.errors}`);

      const single = summarize(await runLoad({
        concurrency: singleConcurrency, durationMs,
        operation: async () => {
          unique += 1;
          const answer = await postRaw(`${leader.url}/v1/transfers`, `{"transfers":[${transferJson(`s-${unique}`, unique)}]}`);
          if (answer.status !== 200) throw new Error(answer.text);
          return 1;
        },
      }));
      figures.singleRequestsPerSecond!.push(single.perSecond);
      figures.singleP99Ms!.push(single.p99);
      progress(`run ${run}/${runs} single transfer, concurrency ${singleConcurrency}: ${format(single.perSecond)} requests/s, p50 ${format(single.p50, 1)} ms, p99 ${format(single.p99, 1)} ms, errors ${single.errors}`);

      const halfRate = Math.max(1, Math.floor(single.perSecond / 2));
      const half = summarize(await runLoad({
        concurrency: singleConcurrency, durationMs, ratePerSecond: halfRate,
        operation: async () => {
          unique += 1;
          const answer = await postRaw(`${leader.url}/v1/transfers`, `{"transfers":[${transferJson(`h-${unique}`, unique)}]}`);
          if (answer.status !== 200) throw new Error(answer.text);
          return 1;
        },
      }));
      figures.halfRateP99Ms!.push(half.p99);
      figures.halfRateAchieved!.push(half.perSecond);
      progress(`run ${run}/${runs} at half rate (${format(halfRate)}/s offered): ${format(half.perSecond)} requests/s, p50 ${format(half.p50, 1)} ms, p99 ${format(half.p99, 1)} ms`);
    }
  } finally {
    await cluster.stopAll().catch(() => undefined);
    await cluster.destroy();
  }
  return figures;
}

async function measureEtcd(): Promise<number[]> {
  const etcd = await startEtcdCluster(await freePortRange(20));
  const value = 'v'.repeat(200);
  const puts: number[] = [];
  try {
    for (let run = 1; run <= runs; run += 1) {
      const result = summarize(await runLoad({
        concurrency: singleConcurrency, durationMs,
        operation: async (worker, sequence) => {
          await etcdPut(etcd.clientUrls[worker % etcd.clientUrls.length]!, `key-${sequence % 100_000}`, value);
          return 1;
        },
      }));
      puts.push(result.perSecond);
      progress(`run ${run}/${runs} etcd 3 members, 200-byte puts, concurrency ${singleConcurrency}: ${format(result.perSecond)} puts/s, p99 ${format(result.p99, 1)} ms, errors ${result.errors}`);
    }
  } finally {
    await etcd.stop();
  }
  return puts;
}

async function measurePostgres(): Promise<number[]> {
  const database = `bench_writer_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: singleConcurrency });
  const tps: number[] = [];
  try {
    await pool.query('CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL)');
    await pool.query('CREATE TABLE entries (id bigserial PRIMARY KEY, debit_account_id text NOT NULL, credit_account_id text NOT NULL, amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
    await pool.query(`INSERT INTO accounts SELECT 'a-' || n, 0 FROM generate_series(0, ${accountsCount - 1}) AS n`);
    for (let run = 1; run <= runs; run += 1) {
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
      tps.push(result.perSecond);
      progress(`run ${run}/${runs} plain Postgres transfer transaction, ${singleConcurrency} clients: ${format(result.perSecond)} tps, p99 ${format(result.p99, 1)} ms, errors ${result.errors}`);
    }
  } finally {
    await pool.end();
    const cleanup = new pg.Client({ connectionString: adminUrl });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await cleanup.end();
  }
  return tps;
}

requireEtcd();
progress(`bench:writer — ${runs} runs of ${durationMs / 1000} s each per figure; machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
const writer = await measureWriter();
const etcd = await measureEtcd();
const postgres = await measurePostgres();
const ours = median(writer.singleRequestsPerSecond!);
const results = {
  date: new Date().toISOString(),
  machine: { cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverage: os.loadavg() },
  settings: { runs, durationMs, batchItems, batchConcurrency, singleConcurrency, accountsCount, fsync: true, nodes: 3 },
  writer: Object.fromEntries(Object.entries(writer).map(([name, values]) => [name, { median: median(values), runs: values }])),
  etcdPutsPerSecond: { median: median(etcd), runs: etcd },
  postgresTransfersPerSecond: { median: median(postgres), runs: postgres },
  ratios: { singleVsEtcd: ours / median(etcd), singleVsPostgres: ours / median(postgres), batchedVsPostgres: median(writer.batchedTransfersPerSecond!) / median(postgres) },
};
mkdirSync(path.join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(path.join(import.meta.dirname, 'results', 'writer.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log('\nbench:writer (medians)');
console.log(`  batched, ${batchItems} transfers/request:        ${format(results.writer.batchedTransfersPerSecond!.median)} transfers/s (target ≥ 100,000)`);
console.log(`  single transfer, concurrency ${singleConcurrency}:        ${format(ours)} requests/s, p99 ${format(results.writer.singleP99Ms!.median, 1)} ms`);
console.log(`  etcd 3 members, 200-byte puts, concurrency ${singleConcurrency}: ${format(median(etcd))} puts/s → ours / etcd = ${format(results.ratios.singleVsEtcd, 2)} (target ≥ 2)`);
console.log(`  plain Postgres transfer txn, ${singleConcurrency} clients: ${format(median(postgres))} tps → ours / Postgres = ${format(results.ratios.singleVsPostgres, 2)} (single), ${format(results.ratios.batchedVsPostgres, 2)} (batched)`);
console.log(`  p99 at half our max rate:                    ${format(results.writer.halfRateP99Ms!.median, 1)} ms (target ≤ 10)`);
