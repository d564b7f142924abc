/**
 * Test and bench support: the read path as real processes — a writer cluster (its leader publishes
 * to Kafka), the projector (projector/main.ts) and the query API (query-api/server.ts) — on the
 * given Kafka, a given database and a topic of its own.
 */
import { freePort } from '../../test/support/ports.ts';
import { httpStatus, runNodeScript, type RunningProcess } from '../../test/support/processes.ts';
import { uniqueName } from '../../test/support/isolation.ts';
import { postJson, publisherEnvironment, WriterCluster } from '../../test/support/writer-cluster.ts';

const healthyWithinMs = 60_000;

export interface QueryPlatform {
  readonly cluster: WriterCluster;
  readonly queryUrl: string;
  readonly writerUrls: string[];
  readonly projector: RunningProcess;
  readonly queryApi: RunningProcess;
  stop(): Promise<void>;
}

export interface QueryPlatformOptions {
  readonly databaseUrl: string;
  readonly kafkaBrokers: readonly string[];
  readonly topic: string;
  readonly logLevel?: string;
  readonly queryEnv?: Record<string, string>;
}

async function waitHealthy(name: string, url: string, running: RunningProcess): Promise<void> {
  const deadline = Date.now() + healthyWithinMs;
  let exited = false;
  void running.exited.then(() => (exited = true));
  while ((await httpStatus(url, 1_000)) !== 200) {
    if (exited) throw new Error(`${name} exited during start:\n${running.output().slice(-4_000)}`);
    if (Date.now() > deadline) throw new Error(`${name} not healthy within ${healthyWithinMs} ms:\n${running.output().slice(-4_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startQueryPlatform(options: QueryPlatformOptions): Promise<QueryPlatform> {
  const logLevel = options.logLevel ?? 'warn';
  const common = { ...process.env, KAFKA_BROKERS: options.kafkaBrokers.join(','), KAFKA_TOPIC: options.topic, LEDGER_SHARDS: '1', LOG_LEVEL: logLevel };
  const cluster = await WriterCluster.create(3, { ...publisherEnvironment(options.kafkaBrokers, options.topic), LOG_LEVEL: logLevel });
  const started: RunningProcess[] = [];
  try {
    await cluster.startAll();
    await cluster.waitForLeader();
    const projectorPort = await freePort();
    const projector = runNodeScript('projector/main.ts', {
      ...common, DATABASE_URL: options.databaseUrl, PROJECTOR_HTTP_PORT: String(projectorPort), PROJECTOR_GROUP_ID: uniqueName('query-e2e'),
    });
    started.push(projector);
    await waitHealthy('projector', `http://127.0.0.1:${projectorPort}/health`, projector);
    const queryPort = await freePort();
    const writerUrls = cluster.nodes.map((node) => node.url);
    const queryApi = runNodeScript('query-api/server.ts', {
      ...common, DATABASE_URL: options.databaseUrl, QUERY_HTTP_PORT: String(queryPort), WRITER_URLS: writerUrls.join(','), ...options.queryEnv,
    });
    started.push(queryApi);
    const queryUrl = `http://127.0.0.1:${queryPort}`;
    await waitHealthy('query API', `${queryUrl}/health`, queryApi);
    return {
      cluster, queryUrl, writerUrls, projector, queryApi,
      stop: async () => {
        for (const running of started) running.child.kill('SIGKILL');
        await Promise.all(started.map((running) => running.exited));
        await cluster.destroy();
      },
    };
  } catch (error) {
    for (const running of started) running.child.kill('SIGKILL');
    await cluster.destroy();
    throw error;
  }
}

export interface WritePosition {
  readonly shard: number;
  readonly seq: number;
}

/** POSTs to writer URLs in turn until one answers 200 or 400 (bounded by `attemptsMax`). */
export async function writeToCluster(urls: readonly string[], path: string, body: unknown, attemptsMax = 20): Promise<{ status: number; body: { results: { id: string; status: string }[]; position: WritePosition } }> {
  let lastError = '';
  for (let attempt = 0; attempt < attemptsMax; attempt += 1) {
    const url = urls[attempt % urls.length]!;
    try {
      const answer = await postJson(`${url}${path}`, body, 10_000);
      if (answer.status === 200 || answer.status === 400) return answer;
      lastError = `HTTP ${answer.status}: ${JSON.stringify(answer.body)}`;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(500, 20 * (attempt + 1))));
  }
  throw new Error(`no answer for ${path} after ${attemptsMax} attempts: ${lastError}`);
}
