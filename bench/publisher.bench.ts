/**
 * `npm run bench:publisher`: does the Kafka publisher keep up with 50,000 events/s?
 *
 * 1. Writer cluster: three real writer processes with the publisher on (fsync on, a real broker),
 *    offered ~`offeredEventsPerSecond` transfers/s (batches of `batchItems`, open loop, bounded in
 *    flight) for `durationMs`. Every 100 ms the leader's /v1/cluster is sampled: lastSeq, the live
 *    publisher's published seq, lag in events and ms.
 * 2. Publisher alone: an EventPublisher reading a source fed at `offeredEventsPerSecond` events/s
 *    (10 ms ticks; events made on demand, TransferCreated of realistic size) against the same
 *    broker, sampled the same way — what the publisher can do when the writer is not the limit.
 *
 * Per run: events/s offered and published, lag p50/p99/max in events and ms, and whether the lag
 * grew: the least-squares slope of lag (events/s) over the last half of the run vs the first half;
 * "bounded" when the last half's slope is below 1% of the offered rate. Figures are medians of
 * `runs` runs; results go to stdout and bench/results/publisher.summary.json.
 *
 * Kafka: KAFKA_BROKERS, or a private local KRaft broker from the jars.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EnvelopeInput } from '../common/events/envelope.ts';
import { parseBrokers } from '../common/config.ts';
import { createKafka } from '../common/kafka/client.ts';
import { ensureTopic } from '../common/kafka/ensure-topic.ts';
import { createLogger } from '../common/logger.ts';
import { startLocalKafka, type LocalKafka } from '../platform/kafka/local-kafka.ts';
import { uniqueName, uniqueTopic } from '../test/support/isolation.ts';
import { freePort } from '../test/support/ports.ts';
import { postJson, publisherEnvironment, WriterCluster, type ClusterView, type WriterProcess } from '../test/support/writer-cluster.ts';
import type { CommittedEventSource } from '../writer/publisher/committed-event-source.ts';
import { EventPublisher } from '../writer/publisher/event-publisher.ts';
import { machineFacts, median, writeBenchSummary, type BenchFigure } from './report/bench-summary.ts';
import { format, percentile, progress, runLoad } from './support/load.ts';
import { CpuShare, describeCores } from './support/process-cpu.ts';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 60_000);
const offeredEventsPerSecond = Number(process.env.BENCH_PUBLISHER_RATE ?? 50_000);
const batchItems = Number(process.env.BENCH_BATCH_ITEMS ?? 2_500);
const inFlightMax = Number(process.env.BENCH_IN_FLIGHT_MAX ?? 8);
const phases = new Set((process.env.BENCH_PHASES ?? 'writer,alone').split(','));
/** The writer processes' log level; below `error`, their logs are saved to BENCH_WRITER_LOG_DIR (default .data/bench-publisher-logs). */
const writerLogLevel = process.env.BENCH_WRITER_LOG_LEVEL ?? 'error';
const writerLogDir = process.env.BENCH_WRITER_LOG_DIR ?? path.join('.data', 'bench-publisher-logs');
const sampleEveryMs = 100;
const progressEveryMs = 5_000;
const tickMs = 10;
const accountsCount = 10_000;
const drainWaitMsMax = 120_000;
const log = createLogger('bench-publisher', 'warn');

interface Sample {
  readonly atMs: number;
  readonly lastSeq: number;
  readonly publishedSeq: number;
  readonly lagEvents: number;
  readonly lagMs: number;
}

interface RunResult {
  readonly offeredPerSecond: number;
  readonly publishedPerSecond: number;
  readonly lagEventsP50: number;
  readonly lagEventsP99: number;
  readonly lagEventsMax: number;
  readonly lagMsP50: number;
  readonly lagMsP99: number;
  readonly lagMsMax: number;
  readonly slopeFirstHalf: number;
  readonly slopeLastHalf: number;
  readonly bounded: boolean;
  readonly drainedMs: number;
  /** Cores used during the run per process (writers, broker, bench) and by the machine. */
  readonly cores: ReadonlyMap<string, number>;
}

/** Least-squares slope of lag in events over time, events per second. */
function slope(samples: readonly Sample[]): number {
  if (samples.length < 2) return 0;
  const meanX = samples.reduce((sum, sample) => sum + sample.atMs, 0) / samples.length;
  const meanY = samples.reduce((sum, sample) => sum + sample.lagEvents, 0) / samples.length;
  let numerator = 0;
  let denominator = 0;
  for (const sample of samples) {
    numerator += (sample.atMs - meanX) * (sample.lagEvents - meanY);
    denominator += (sample.atMs - meanX) ** 2;
  }
  return denominator === 0 ? 0 : (numerator / denominator) * 1000;
}

function analyse(samples: readonly Sample[], drainedMs: number, cores: ReadonlyMap<string, number>): RunResult {
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const seconds = (last.atMs - first.atMs) / 1000;
  const half = first.atMs + (last.atMs - first.atMs) / 2;
  const offeredPerSecond = (last.lastSeq - first.lastSeq) / seconds;
  const slopeLastHalf = slope(samples.filter((sample) => sample.atMs >= half));
  return {
    offeredPerSecond,
    publishedPerSecond: (last.publishedSeq - first.publishedSeq) / seconds,
    lagEventsP50: percentile(samples.map((sample) => sample.lagEvents), 0.5),
    lagEventsP99: percentile(samples.map((sample) => sample.lagEvents), 0.99),
    lagEventsMax: Math.max(...samples.map((sample) => sample.lagEvents)),
    lagMsP50: percentile(samples.map((sample) => sample.lagMs), 0.5),
    lagMsP99: percentile(samples.map((sample) => sample.lagMs), 0.99),
    lagMsMax: Math.max(...samples.map((sample) => sample.lagMs)),
    slopeFirstHalf: slope(samples.filter((sample) => sample.atMs < half)),
    slopeLastHalf,
    bounded: slopeLastHalf < 0.01 * Math.max(1, offeredPerSecond),
    drainedMs,
    cores,
  };
}

function describeRun(label: string, result: RunResult): string {
  return `${label}: offered ${format(result.offeredPerSecond)} events/s, published ${format(result.publishedPerSecond)} events/s; ` +
    `lag events p50 ${format(result.lagEventsP50)} p99 ${format(result.lagEventsP99)} max ${format(result.lagEventsMax)}; ` +
    `lag ms p50 ${format(result.lagMsP50)} p99 ${format(result.lagMsP99)} max ${format(result.lagMsMax)}; ` +
    `slope first half ${format(result.slopeFirstHalf)} events/s, last half ${format(result.slopeLastHalf)} events/s → ${result.bounded ? 'bounded' : 'GROWING'}; drained ${format(result.drainedMs)} ms after the load stopped; ` +
    `CPU cores used: ${describeCores(result.cores)}`;
}

/** Samples every 100 ms until `done` resolves; prints progress every 5 s. */
async function sampleWhile(done: Promise<unknown>, sample: () => Promise<Omit<Sample, 'atMs'> | undefined>, label: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  let finished = false;
  void done.then(() => (finished = true), () => (finished = true));
  const started = performance.now();
  let lastProgress = started;
  while (!finished) {
    const next = performance.now() + sampleEveryMs;
    const taken = await sample();
    if (taken !== undefined) samples.push({ atMs: performance.now() - started, ...taken });
    if (performance.now() - lastProgress >= progressEveryMs && taken !== undefined) {
      lastProgress = performance.now();
      progress(`${label} ${format((performance.now() - started) / 1000)} s: lastSeq ${format(taken.lastSeq)}, published ${format(taken.publishedSeq)}, lag ${format(taken.lagEvents)} events / ${format(taken.lagMs)} ms`);
    }
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return samples;
}

async function provideKafka(): Promise<{ brokers: string[]; pid?: number; stop: () => Promise<void>; how: string }> {
  if (process.env.KAFKA_BROKERS) return { brokers: parseBrokers(process.env.KAFKA_BROKERS), stop: async () => undefined, how: `KAFKA_BROKERS=${process.env.KAFKA_BROKERS}` };
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-bench-publisher-kafka-'));
  progress('starting a private local Kafka broker from the jars');
  const broker: LocalKafka = await startLocalKafka({ dataDir, port: await freePort(), controllerPort: await freePort(), heapMb: 1024, log });
  return {
    brokers: broker.brokers,
    pid: broker.pid,
    how: `private local KRaft broker (${broker.brokers.join(',')})`,
    stop: async () => {
      await broker.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function transferJson(sequence: number): string {
  const debit = (sequence * 7919) % accountsCount;
  const credit = (debit + 1 + (sequence % (accountsCount - 1))) % accountsCount;
  return `{"id":"p-${sequence}","debitAccountId":"a-${debit}","creditAccountId":"a-${credit}","amount":"${1 + (sequence % 1000)}","ledger":1,"code":1}`;
}

/** Whoever leads now (elections happen on a loaded machine): its view, and it becomes the load's target. */
async function leaderSample(cluster: WriterCluster, current: { leader: WriterProcess; elections: number }): Promise<Omit<Sample, 'atMs'> | undefined> {
  const views = await Promise.all(cluster.nodes.map((node) => cluster.view(node)));
  const leading = views.filter((view): view is ClusterView => view?.role === 'leader').sort((left, right) => right.term - left.term)[0];
  if (leading === undefined) return undefined;
  const leader = cluster.node(leading.nodeId);
  if (leader !== current.leader) {
    current.leader = leader;
    current.elections += 1;
  }
  // A new leader's publisher reads back first; until then, count the whole replicated gap as lag.
  const publishedSeq = leading.publisher.publishedSeq ?? leading.publishedSeq;
  const lagEvents = leading.publisher.lagEvents ?? leading.lastSeq - publishedSeq;
  return { lastSeq: leading.lastSeq, publishedSeq, lagEvents, lagMs: leading.publisher.lagMs ?? 0 };
}

async function benchWriterCluster(brokers: string[], brokerPid: number | undefined): Promise<RunResult[]> {
  const topic = uniqueTopic('bench-publisher-writer');
  const cluster = await WriterCluster.create(3, { ...publisherEnvironment(brokers, topic), LOG_LEVEL: writerLogLevel });
  const results: RunResult[] = [];
  try {
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    progress(`writer cluster up (publisher on, topic ${topic}), leader node ${leader.id}; creating ${format(accountsCount)} accounts`);
    for (let start = 0; start < accountsCount; start += 5_000) {
      const accounts = Array.from({ length: Math.min(5_000, accountsCount - start) }, (_, index) => ({ id: `a-${start + index}`, ledger: 1, code: 1 }));
      const answer = await postJson(`${leader.url}/v1/accounts`, { accounts }, 60_000);
      if (answer.status !== 200) throw new Error(`creating accounts failed: ${JSON.stringify(answer.body)}`);
    }
    let sequence = 0;
    const current = { leader, elections: 0 };
    for (let run = 1; run <= runs; run += 1) {
      const electionsBefore = current.elections;
      const stallsBefore = await cluster.tickStalls();
      const cpu = new CpuShare([...cluster.nodes.map((node) => [`writer-${node.id}`, node.process?.child.pid] as const), ['broker', brokerPid], ['bench', process.pid]]);
      cpu.start();
      progress(`writer run ${run}/${runs}: offering ${format(offeredEventsPerSecond)} transfers/s in batches of ${format(batchItems)} for ${durationMs / 1000} s`);
      const load = runLoad({
        concurrency: inFlightMax, durationMs, ratePerSecond: offeredEventsPerSecond / batchItems,
        operation: async () => {
          const parts: string[] = [];
          for (let item = 0; item < batchItems; item += 1) parts.push(transferJson((sequence += 1)));
          const response = await fetch(`${current.leader.url}/v1/transfers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"transfers":[${parts.join(',')}]}`, signal: AbortSignal.timeout(30_000) });
          await response.arrayBuffer();
          if (response.status !== 200) throw new Error(`status ${response.status}`);
          return batchItems;
        },
      });
      const samples = await sampleWhile(load, () => leaderSample(cluster, current), `writer run ${run}`);
      const loadResult = await load;
      const cores = cpu.stop();
      const drainStarted = performance.now();
      let drained = await leaderSample(cluster, current);
      while (drained?.lagEvents !== 0 && performance.now() - drainStarted < drainWaitMsMax) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        drained = await leaderSample(cluster, current);
      }
      const result = analyse(samples, performance.now() - drainStarted, cores);
      results.push(result);
      const stalls = await cluster.tickStallsSince(stallsBefore);
      progress(`${describeRun(`writer run ${run}`, result)}; request errors ${loadResult.errors}; leader changes ${current.elections - electionsBefore} (leading at the end: writer-${current.leader.id}); event-loop stalls ≥ 100 ms per node (${stalls})`);
    }
  } finally {
    if (writerLogLevel !== 'error') {
      mkdirSync(writerLogDir, { recursive: true });
      for (const node of cluster.nodes) writeFileSync(path.join(writerLogDir, `writer-${node.id}.log`), node.process?.output() ?? '');
      progress(`writer logs saved in ${writerLogDir}`);
    }
    await cluster.destroy();
  }
  return results;
}

/** A committed source fed at a fixed rate; events are made on demand (no 3 M objects held). */
class FedEventSource implements CommittedEventSource {
  readonly #tickStartedMs: number[] = [];
  #lastSeq = 0;
  readonly #eventsPerTick: number;

  constructor(eventsPerTick: number) {
    this.#eventsPerTick = eventsPerTick;
  }

  tick(nowMs: number): void {
    this.#tickStartedMs.push(nowMs);
    this.#lastSeq += this.#eventsPerTick;
  }

  lastSeq(): number {
    return this.#lastSeq;
  }

  read(fromSeq: number, max: number): EnvelopeInput[] {
    const events: EnvelopeInput[] = [];
    for (let seq = fromSeq; seq <= this.#lastSeq && events.length < max; seq += 1) {
      const tick = Math.floor((seq - 1) / this.#eventsPerTick);
      const debit = (seq * 7919) % accountsCount;
      events.push({
        shard: 0, seq, raftIndex: tick + 1, raftTerm: 1, commandId: `command-${tick}`, eventIndex: (seq - 1) % this.#eventsPerTick,
        occurredAtMs: this.#tickStartedMs[tick]!,
        event: {
          type: 'TransferCreated',
          data: {
            id: `p-${seq}`, debitAccountId: `a-${debit}`, creditAccountId: `a-${(debit + 1) % accountsCount}`, amount: BigInt(1 + (seq % 1000)),
            ledger: 1, code: 1, userData: undefined, pending: false, timeoutSeconds: 0, timeoutAt: undefined,
          },
        },
      });
    }
    return events;
  }
}

async function benchPublisherAlone(brokers: string[], brokerPid: number | undefined): Promise<RunResult[]> {
  const kafka = createKafka({ clientId: 'bench-publisher', brokers, log });
  const results: RunResult[] = [];
  for (let run = 1; run <= runs; run += 1) {
    const topic = uniqueTopic('bench-publisher-alone');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopic(admin, { topic, partitions: 1, replicationFactor: 1 }, log).finally(() => admin.disconnect());
    const eventsPerTick = Math.round((offeredEventsPerSecond * tickMs) / 1000);
    const source = new FedEventSource(eventsPerTick);
    const publisher = new EventPublisher({ kafka, topic, shard: 0, transactionalId: uniqueName('bench-publisher'), source, log });
    publisher.start();
    while (publisher.publishedSeq === null) await new Promise((resolve) => setTimeout(resolve, 50));
    progress(`publisher-alone run ${run}/${runs}: feeding ${format(offeredEventsPerSecond)} events/s (${eventsPerTick} per ${tickMs} ms tick) for ${durationMs / 1000} s`);
    const cpu = new CpuShare([['broker', brokerPid], ['bench (publisher)', process.pid]]);
    cpu.start();
    const started = performance.now();
    const feeding = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - started;
        if (elapsed >= durationMs) {
          clearInterval(timer);
          resolve();
          return;
        }
        // Catch up on ticks a busy event loop delayed, so the offered rate is the rate asked for.
        while (source.lastSeq() < Math.floor((elapsed / tickMs) + 1) * eventsPerTick) source.tick(Date.now());
        publisher.notify();
      }, tickMs);
    });
    const samples = await sampleWhile(feeding, async () => {
      const stats = publisher.stats();
      return { lastSeq: source.lastSeq(), publishedSeq: stats.publishedSeq ?? 0, lagEvents: stats.lagEvents ?? 0, lagMs: stats.lagMs ?? 0 };
    }, `publisher-alone run ${run}`);
    const cores = cpu.stop();
    const drainStarted = performance.now();
    while (publisher.publishedSeq !== source.lastSeq() && performance.now() - drainStarted < drainWaitMsMax) await new Promise((resolve) => setTimeout(resolve, 20));
    const result = analyse(samples, performance.now() - drainStarted, cores);
    await publisher.stop();
    results.push(result);
    progress(`${describeRun(`publisher-alone run ${run}`, result)}; retries ${publisher.stats().retries}`);
  }
  return results;
}

function figures(prefix: string, label: string, results: readonly RunResult[]): BenchFigure[] {
  const of = (pick: (result: RunResult) => number) => ({ value: median(results.map(pick)), runs: results.map(pick) });
  return [
    { name: `${label}: events offered`, unit: 'events/s', ...of((result) => result.offeredPerSecond) },
    { name: `${label}: events published`, unit: 'events/s', ...of((result) => result.publishedPerSecond), target: { kind: 'min', value: offeredEventsPerSecond * 0.99 } },
    { name: `${label}: lag p50`, unit: 'ms', ...of((result) => result.lagMsP50) },
    { name: `${label}: lag p99`, unit: 'ms', ...of((result) => result.lagMsP99) },
    { name: `${label}: lag max`, unit: 'ms', ...of((result) => result.lagMsMax) },
    { name: `${label}: lag p99`, unit: 'events', ...of((result) => result.lagEventsP99) },
    { name: `${label}: lag slope, last half of the run`, unit: 'events/s', ...of((result) => result.slopeLastHalf), target: { kind: 'max', value: offeredEventsPerSecond * 0.01 } },
    ...coreFigures(label, results),
  ].map((figure) => ({ ...figure, name: `${prefix} ${figure.name}`.trim() }) as BenchFigure);
}

/** Cores used per group of processes (writer-* summed), where every run measured them. */
function coreFigures(label: string, results: readonly RunResult[]): { name: string; unit: string; value: number; runs: number[] }[] {
  const groups = new Map<string, number[]>();
  for (const result of results) {
    const perGroup = new Map<string, number>();
    for (const [name, cores] of result.cores) {
      const group = name.startsWith('writer-') ? 'writers' : name;
      perGroup.set(group, (perGroup.get(group) ?? 0) + cores);
    }
    for (const [group, cores] of perGroup) groups.set(group, [...(groups.get(group) ?? []), cores]);
  }
  return [...groups].filter(([, values]) => values.length === results.length)
    .map(([group, values]) => ({ name: `${label}: CPU cores used, ${group}`, unit: 'cores', value: median(values), runs: values }));
}

const loadAtStart = os.loadavg();
const kafka = await provideKafka();
try {
  progress(`Kafka: ${kafka.how}; load average ${loadAtStart.map((load) => load.toFixed(2)).join(' ')}`);
  const writer = phases.has('writer') ? await benchWriterCluster(kafka.brokers, kafka.pid) : [];
  const alone = phases.has('alone') ? await benchPublisherAlone(kafka.brokers, kafka.pid) : [];
  console.log('\n== publisher benchmark ==');
  for (const [index, result] of writer.entries()) console.log(describeRun(`writer cluster run ${index + 1}`, result));
  for (const [index, result] of alone.entries()) console.log(describeRun(`publisher alone run ${index + 1}`, result));
  const file = writeBenchSummary({
    bench: 'publisher',
    measuredAt: new Date().toISOString(),
    machine: machineFacts(loadAtStart),
    settings: { runs, durationMs, offeredEventsPerSecond, batchItems, inFlightMax, sampleEveryMs, kafka: kafka.how, loadAverageAtEnd: os.loadavg().map((load) => load.toFixed(2)).join(' ') },
    figures: [...(writer.length > 0 ? figures('', 'writer cluster', writer) : []), ...(alone.length > 0 ? figures('', 'publisher alone', alone) : [])],
  });
  console.log(`summary: ${file}; load average at end ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
} finally {
  await kafka.stop();
}
