/**
 * `npm run bench:projector` — the projector's two figures (issue 6), on the same real Kafka and
 * Postgres the tests use (KAFKA_BROKERS / DATABASE_URL, or a local broker and Postgres):
 *
 * 1. Replay: BENCH_PROJECTOR_EVENTS (default 1,000,000) events of a Decider-generated history —
 *    accounts, then single-phase and two-phase transfers, posts, voids, expiries — published to a
 *    fresh topic, then replayed by the real projector process (projector/main.ts) into a fresh
 *    database. Rate = events applied / time from the first to the last checkpoint observed.
 *    In the same run, the insert-only rows that replay produced (transfers and account entries,
 *    3 rows per transfer event), in event (seq) order, are COPYed (psql \copy, same columns and
 *    indexes) into empty tables: the raw rate is events / COPY time. Target: replay ≥ 50% of raw.
 * 2. Freshness: with the projector caught up, transfers are published at BENCH_FRESHNESS_RATE
 *    (default 5,000/s) by a transactional producer — one transaction per 10 ms tick, as a writer's
 *    publisher would batch — first for BENCH_FRESHNESS_WARMUP_SECONDS (default 30, not measured:
 *    a freshly started broker is still compiling its hot paths), then for BENCH_FRESHNESS_SECONDS
 *    (default 10), measured. "Writer commit" is the
 *    moment a batch is handed to the publisher (before the Kafka transaction, so Kafka's latency
 *    counts); "visible" is when the checkpoint notification covering its seq arrives over LISTEN.
 *    Target: p50 ≤ 20 ms, p99 ≤ 100 ms.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Kafka } from 'kafkajs';
import { encodeEnvelopeMessage, type EnvelopeMessage } from '../common/events/envelope.ts';
import { createKafka } from '../common/kafka/client.ts';
import { createLogger } from '../common/logger.ts';
import { machineFacts, writeBenchSummary } from './report/bench-summary.ts';
import { checkpointChannel } from '../projector/batch-apply.ts';
import { historyInputs } from '../projector/test/ledger-history.ts';
import { createTopic, publish, waitUntil } from '../projector/test/publish.ts';
import { freePort } from '../test/support/ports.ts';
import { runNodeScript, type RunningProcess } from '../test/support/processes.ts';
import { startTestServices } from '../test/support/services.ts';
import { createTestDatabase, uniqueName, uniqueTopic, type TestDatabase } from '../test/support/isolation.ts';

const log = createLogger('bench-projector', 'warn');
const replayEvents = Number(process.env.BENCH_PROJECTOR_EVENTS ?? 1_000_000);
const freshnessRate = Number(process.env.BENCH_FRESHNESS_RATE ?? 5_000);
const freshnessSeconds = Number(process.env.BENCH_FRESHNESS_SECONDS ?? 10);
const freshnessWarmUpSeconds = Number(process.env.BENCH_FRESHNESS_WARMUP_SECONDS ?? 30);
const publishChunk = 1_000; // one record batch stays under the broker's 1 MB message limit (2,000 did not once ids grew longer)
const tickMs = 10;
const replayTimeoutMs = 30 * 60_000;

const loadAtStart = os.loadavg();
const services = await startTestServices(log);
const cleanups: (() => Promise<void>)[] = [async () => services.stop()];
try {
  console.log(`[bench:projector] ${services.description}`);
  const kafka = createKafka({ clientId: 'bench-projector', brokers: services.kafkaBrokers, log });
  const replay = await benchReplay(kafka);
  const freshness = await benchFreshness(kafka);
  console.log('\n== projector benchmark ==');
  console.log(`replay:    ${replay.events.toLocaleString('en')} events in ${replay.seconds.toFixed(1)} s = ${Math.round(replay.rate).toLocaleString('en')} events/s`);
  console.log(`raw COPY:  ${replay.rows.toLocaleString('en')} rows (${replay.events.toLocaleString('en')} events) in ${replay.copySeconds.toFixed(1)} s = ${Math.round(replay.rawRate).toLocaleString('en')} events/s`);
  console.log(`ratio:     ${(100 * replay.rate / replay.rawRate).toFixed(0)}% of raw COPY (target ≥ 50%)`);
  console.log(`freshness: ${freshness.count.toLocaleString('en')} transfers at ${Math.round(freshness.achievedRate).toLocaleString('en')}/s: p50 ${freshness.p50.toFixed(1)} ms, p99 ${freshness.p99.toFixed(1)} ms, max ${freshness.max.toFixed(1)} ms (target p50 ≤ 20, p99 ≤ 100)`);
  console.log(`           of which the Kafka transaction: p50 ${freshness.transactionP50.toFixed(1)} ms, p99 ${freshness.transactionP99.toFixed(1)} ms; from Kafka commit to visible: p50 ${freshness.kafkaP50.toFixed(1)} ms, p99 ${freshness.kafkaP99.toFixed(1)} ms`);
  console.log(`           projector: ${freshness.batches.toLocaleString('en')} batch transactions, ${(freshness.count / Math.max(1, freshness.batches)).toFixed(0)} events each on average, ${freshness.batchMeanMs.toFixed(1)} ms each on average`);
  console.log(`load average at start ${loadAtStart.map((load) => load.toFixed(2)).join(' ')}, at the end ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  writeBenchSummary({
    bench: 'projector', measuredAt: new Date().toISOString(), machine: machineFacts(loadAtStart),
    settings: { replayEvents, freshnessRate, freshnessSeconds, freshnessWarmUpSeconds, publishChunk, tickMs },
    figures: [
      {
        name: `replay ${replay.events.toLocaleString('en')} events into the read models`, value: Math.round(replay.rate), unit: 'events/s',
        peer: { name: 'raw COPY of the insert-only rows', value: Math.round(replay.rawRate), unit: 'events/s' }, ratio: replay.rate / replay.rawRate, ratioTarget: { kind: 'min', value: 0.5 },
      },
      { name: `freshness p50 at ${freshnessRate.toLocaleString('en')} transfers/s (writer commit → visible)`, value: Number(freshness.p50.toFixed(1)), unit: 'ms', target: { kind: 'max', value: 20 } },
      { name: `freshness p99 at ${freshnessRate.toLocaleString('en')} transfers/s (writer commit → visible)`, value: Number(freshness.p99.toFixed(1)), unit: 'ms', target: { kind: 'max', value: 100 } },
    ],
  });
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
}

async function startProjector(database: TestDatabase<unknown>, topic: string): Promise<RunningProcess & { readonly metricsUrl: string }> {
  const port = await freePort();
  const child = runNodeScript('projector/main.ts', {
    ...process.env,
    DATABASE_URL: database.url, KAFKA_BROKERS: services.kafkaBrokers.join(','), KAFKA_TOPIC: topic, LEDGER_SHARDS: '1',
    PROJECTOR_HTTP_PORT: String(port), PROJECTOR_GROUP_ID: uniqueName('bench'), LOG_LEVEL: 'warn',
    // e.g. BENCH_PROJECTOR_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the projector process only.
    NODE_OPTIONS: process.env.BENCH_PROJECTOR_NODE_OPTIONS ?? process.env.NODE_OPTIONS,
  });
  cleanups.push(async () => {
    if (child.child.exitCode === null) child.child.kill('SIGTERM');
    await child.exited;
  });
  return Object.assign(child, { metricsUrl: `http://127.0.0.1:${port}/metrics` });
}

/** Sum and count of a Prometheus histogram (all label sets) from the projector's /metrics. */
async function histogramTotals(metricsUrl: string, name: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const total = (suffix: string) => text.split('\n').filter((line) => line.startsWith(`${name}_${suffix}`)).reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  return { sum: total('sum'), count: total('count') };
}

async function checkpoint(db: Kysely<unknown>): Promise<number> {
  const result = await sql<{ seq: string }>`SELECT seq FROM ledger.checkpoints WHERE shard = 0`.execute(db).catch(() => ({ rows: [] }));
  return Number(result.rows[0]?.seq ?? 0);
}

/**
 * The replay topic: a fresh one with the history published, or — with BENCH_PROJECTOR_REPLAY_TOPIC
 * naming a topic an earlier run of the same BENCH_PROJECTOR_EVENTS filled — that one as it is
 * (the history is deterministic), which saves minutes of publishing between runs.
 */
async function replayTopic(kafka: Kafka): Promise<{ topic: string; published: number }> {
  const named = process.env.BENCH_PROJECTOR_REPLAY_TOPIC;
  const topic = named ?? uniqueTopic('bench.projector.replay');
  if (named !== undefined) {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = (await admin.listTopics()).includes(named) ? await admin.fetchTopicOffsets(named) : [];
      if (offsets.some((partition) => BigInt(partition.high) > 0n)) {
        console.log(`reusing topic ${named} (published by an earlier run with BENCH_PROJECTOR_EVENTS=${replayEvents})`);
        return { topic, published: replayEvents };
      }
    } finally {
      await admin.disconnect();
    }
  }
  await createTopic(kafka, topic, 1);
  const started = performance.now();
  let chunk: EnvelopeMessage[] = [];
  let published = 0;
  const transactionalId = uniqueName('bench-replay');
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 60_000 });
  await producer.connect();
  const flush = async () => {
    const transaction = await producer.transaction();
    await transaction.send({ topic, messages: chunk.map((message) => ({ ...message, headers: { ...message.headers } })) });
    await transaction.commit();
    published += chunk.length;
    chunk = [];
    process.stdout.write(`\rpublishing the history: ${published.toLocaleString('en')} / ${replayEvents.toLocaleString('en')} events`);
  };
  for (const input of historyInputs({ seed: 2026, shard: 0, accounts: 10_000, transfers: Number.MAX_SAFE_INTEGER, transfersPerCommandMax: 200 })) {
    chunk.push(encodeEnvelopeMessage(input));
    if (chunk.length === publishChunk) await flush();
    if (published + chunk.length >= replayEvents) break;
  }
  if (chunk.length > 0) await flush();
  await producer.disconnect();
  console.log(` (${((performance.now() - started) / 1_000).toFixed(1)} s)`);
  return { topic, published };
}

async function benchReplay(kafka: Kafka) {
  const { topic, published } = await replayTopic(kafka);
  const database = await createTestDatabase<unknown>(services.databaseUrl, 'bench_replay');
  let dropped = false;
  cleanups.push(async () => {
    if (!dropped) await database.drop();
  });
  const projector = await startProjector(database, topic);
  let first: { seq: number; at: number } | undefined;
  let last = { seq: 0, at: 0 };
  await waitUntil(async () => {
    const seq = await checkpoint(database.db);
    const at = performance.now();
    if (seq > 0 && first === undefined) first = { seq, at };
    if (seq !== last.seq) last = { seq, at };
    if (first !== undefined) {
      const rate = (seq - first.seq) / Math.max(0.001, (at - first.at) / 1_000);
      const eta = rate > 0 ? (published - seq) / rate : Infinity;
      process.stdout.write(`\rreplaying: ${seq.toLocaleString('en')} / ${published.toLocaleString('en')} events, ${Math.round(rate).toLocaleString('en')} events/s, ETA ${eta.toFixed(0)} s   `);
    }
    return seq === published;
  }, replayTimeoutMs, 'the replay to finish');
  console.log('');
  const seconds = (last.at - first!.at) / 1_000;
  const rate = (last.seq - first!.seq) / seconds;

  const directory = mkdtempSync(path.join(os.tmpdir(), 'bench-projector-'));
  cleanups.push(async () => rmSync(directory, { recursive: true, force: true }));
  await sql`CREATE SCHEMA bench_raw`.execute(database.db);
  let rows = 0;
  let copySeconds = 0;
  for (const table of ['transfers', 'account_entries']) {
    await sql`CREATE TABLE ${sql.id('bench_raw', table)} (LIKE ${sql.id('ledger_v1', table)} INCLUDING ALL)`.execute(database.db);
    const file = path.join(directory, `${table}.copy`);
    // The rows in event order (seq), as the history holds them, whatever order the projector
    // inserted them in (the peer must not follow our choices).
    psql(database.url, `\\copy (SELECT * FROM ledger_v1.${table} ORDER BY ${table === 'transfers' ? 'seq' : 'seq, account_id'}) TO '${file}'`);
    const copyStarted = performance.now();
    const output = psql(database.url, `\\copy bench_raw.${table} FROM '${file}'`);
    copySeconds += (performance.now() - copyStarted) / 1_000;
    rows += Number(/COPY (\d+)/.exec(output)?.[1] ?? 0);
  }
  // The replay's database goes before the freshness phase: dropping it discards its pages from
  // shared buffers without writing them, so the freshness phase does not evict the replay's dirty
  // pages (with them left in place, backends wrote ~4,000 buffers themselves in the 10 s measured,
  // and batches stalled 60-100 ms; the phase still evicts its own).
  projector.child.kill('SIGTERM');
  await projector.exited;
  await database.drop();
  dropped = true;
  const events = published;
  return { events, seconds, rate, rows, copySeconds, rawRate: events / copySeconds };
}

function psql(url: string, command: string): string {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-c', command], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
}

async function benchFreshness(kafka: Kafka) {
  const topic = uniqueTopic('bench.projector.fresh');
  await createTopic(kafka, topic, 1);
  const accounts = 1_000;
  const warmUpCount = freshnessRate * freshnessWarmUpSeconds;
  const count = freshnessRate * freshnessSeconds;
  const messages: EnvelopeMessage[] = [];
  for (const input of historyInputs({ seed: 99, shard: 0, accounts, transfers: Number.MAX_SAFE_INTEGER, transfersPerCommandMax: 50 })) {
    if (input.event.type !== 'AccountCreated' && input.event.type !== 'TransferCreated') continue;
    if (input.event.type === 'TransferCreated' && input.event.data.pending) continue;
    messages.push(encodeEnvelopeMessage({ ...input, seq: messages.length + 1 }));
    if (messages.length >= accounts + warmUpCount + count) break;
  }
  const opening = messages.slice(0, accounts);
  await publish(kafka, topic, opening, uniqueName('bench-fresh-accounts'));
  const database = await createTestDatabase<unknown>(services.databaseUrl, 'bench_fresh');
  cleanups.push(() => database.drop());
  const projector = await startProjector(database, topic);
  await waitUntil(async () => (await checkpoint(database.db)) === opening.length, 60_000, 'the projector to catch up with the accounts');

  const listener = new pg.Client({ connectionString: database.url });
  await listener.connect();
  cleanups.push(() => listener.end());
  const committedAt = new Float64Array(messages.length + 1);
  const publishedAt = new Float64Array(messages.length + 1);
  const measuredFrom = accounts + warmUpCount + 1;
  const latencies: number[] = [];
  const sinceKafka: number[] = [];
  const transactionMs: number[] = [];
  let visibleSeq = opening.length;
  listener.on('notification', (notification) => {
    const at = performance.now();
    const { seq } = JSON.parse(notification.payload ?? '{}') as { seq: number };
    for (let covered = Math.max(visibleSeq + 1, measuredFrom); covered <= seq; covered += 1) {
      latencies.push(at - committedAt[covered]!);
      sinceKafka.push(at - publishedAt[covered]!);
    }
    visibleSeq = Math.max(visibleSeq, seq);
  });
  await listener.query(`LISTEN ${checkpointChannel}`);

  // Short retries: right after a commit the broker may still answer CONCURRENT_TRANSACTIONS (kafkajs waits 100 ms by default).
  const producer = kafka.producer({ transactionalId: uniqueName('bench-fresh'), idempotent: true, maxInFlightRequests: 1, transactionTimeout: 60_000, retry: { retries: 50, initialRetryTime: 5, maxRetryTime: 50 } });
  await producer.connect();
  /** Publishes messages[first-1 .. last-1] (seq first..last) at freshnessRate, one transaction per tick. */
  const pace = async (first: number, last: number, label: string, record: boolean) => {
    const total = last - first + 1;
    let sent = 0;
    const started = performance.now();
    let reported = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1_000) * freshnessRate));
      if (due > sent) {
        const batch = messages.slice(first - 1 + sent, first - 1 + due);
        const at = performance.now();
        for (let index = 0; index < batch.length; index += 1) committedAt[first + sent + index] = at;
        const transaction = await producer.transaction();
        // A tick late by a second or more (a broker pause) owes thousands of messages: one produce
        // request each publishChunk, as a single request over 1 MB is refused (MESSAGE_TOO_LARGE).
        for (let from = 0; from < batch.length; from += publishChunk) {
          await transaction.send({ topic, messages: batch.slice(from, from + publishChunk).map((message) => ({ ...message, headers: { ...message.headers } })) });
        }
        await transaction.commit();
        const done = performance.now();
        if (record) transactionMs.push(done - at);
        for (let index = 0; index < batch.length; index += 1) publishedAt[first + sent + index] = done;
        sent = due;
      }
      if (performance.now() - reported > 1_000) {
        reported = performance.now();
        process.stdout.write(`\r${label}: ${sent.toLocaleString('en')} / ${total.toLocaleString('en')} transfers at ${freshnessRate.toLocaleString('en')}/s   `);
      }
      const nextTick = started + (Math.floor((performance.now() - started) / tickMs) + 1) * tickMs;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextTick - performance.now())));
    }
    console.log('');
    return total / ((performance.now() - started) / 1_000);
  };
  // Warm-up, same load, not measured: the broker's JIT compiles its transaction and fetch paths
  // during the first minutes of load (a freshly started broker spent half a core in its compiler
  // threads), which a long-running broker has long done.
  if (warmUpCount > 0) await pace(accounts + 1, accounts + warmUpCount, 'freshness warm-up (not measured)', false);
  const batchesBefore = await histogramTotals(projector.metricsUrl, 'projector_batch_duration_seconds');
  const achievedRate = await pace(measuredFrom, messages.length, 'freshness (measured)', true);
  await producer.disconnect();
  await waitUntil(() => visibleSeq === messages.length, 60_000, 'the last transfer to become visible');
  const batchesAfter = await histogramTotals(projector.metricsUrl, 'projector_batch_duration_seconds');
  const batches = batchesAfter.count - batchesBefore.count;
  const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;
  return {
    count: latencies.length, achievedRate, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: Math.max(...latencies),
    kafkaP50: quantile(sinceKafka, 0.5), kafkaP99: quantile(sinceKafka, 0.99), transactionP50: quantile(transactionMs, 0.5), transactionP99: quantile(transactionMs, 0.99),
    batches, batchMeanMs: (1_000 * (batchesAfter.sum - batchesBefore.sum)) / Math.max(1, batches),
  };
}
