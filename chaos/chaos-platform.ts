/**
 * The whole platform as real processes, owned by a chaos run so that it can hurt each part:
 * a private single-node Kafka broker (KRaft, from Kafka's jars) and a private embedded Postgres
 * (both restartable without disturbing anything else on the machine), three writer nodes, the
 * projector and the query API.
 *
 * Raft traffic goes through one TcpProxy per directed link (node i dials node j through proxy
 * i→j: each node gets its own WRITER_PEERS), so a node can be cut off from its peers in both
 * directions while its client port stays reachable — a partition, not a crash.
 *
 * Every fault is checked, not assumed: a killed process must be gone (its pid no longer
 * exists), a paused one must be in state T (stopped), a partitioned node's commit index must
 * stand still while the others' advances.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../common/logger.ts';
import { startLocalKafka, type LocalKafka } from '../platform/kafka/local-kafka.ts';
import { startEmbeddedPostgres, type RunningPostgres } from '../platform/postgres/embedded-postgres.ts';
import { freePortRange, httpStatus, runNodeScript, type RunningProcess } from '../test/support/processes.ts';
import { TcpProxy } from '../writer/transport/tcp-proxy.ts';

export const writerIds = ['1', '2', '3'] as const;
export const eventsTopic = 'ledger.events.v1';
const serviceStartTimeoutMs = 60_000;
const processGoneTimeoutMs = 10_000;
const pollMs = 50;

export interface WriterView {
  readonly nodeId: string;
  readonly role: string;
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastSeq: number;
  readonly publishedSeq: number | null;
  readonly stateDigest?: string;
}

interface NodeProcessSlot {
  readonly name: string;
  readonly script: string;
  readonly healthUrl: string;
  env: () => Record<string, string>;
  process: RunningProcess | undefined;
  /** Restarted by the platform when it exits on its own (as the supervisor of `npm start` does). */
  readonly supervised: boolean;
  expectedDown: boolean;
  restarts: number;
  readonly outputs: string[];
}

interface PlatformPorts {
  readonly kafka: number;
  readonly kafkaController: number;
  readonly postgres: number;
  readonly writerHttp: readonly number[];
  readonly writerPeer: readonly number[];
  /** Proxy port per directed Raft link `from->to`. */
  readonly proxies: ReadonlyMap<string, number>;
  readonly projector: number;
  readonly query: number;
}

export interface ChaosPlatformOptions {
  readonly log: Logger;
  /** Keep the data directory after stop (for a failed run's evidence). */
  readonly keepData?: boolean;
}

export class ChaosPlatform {
  readonly root: string;
  readonly #log: Logger;
  readonly #keepData: boolean;
  readonly #ports: PlatformPorts;
  readonly #proxies = new Map<string, TcpProxy>();
  readonly #writers = new Map<string, NodeProcessSlot>();
  #projector!: NodeProcessSlot;
  #queryApi!: NodeProcessSlot;
  #kafka: LocalKafka | undefined;
  #postgres: RunningPostgres | undefined;
  #databaseUrl = '';
  #stopping = false;

  private constructor(root: string, ports: PlatformPorts, options: ChaosPlatformOptions) {
    this.root = root;
    this.#ports = ports;
    this.#log = options.log;
    this.#keepData = options.keepData ?? false;
  }

  static async start(options: ChaosPlatformOptions): Promise<ChaosPlatform> {
    const root = mkdtempSync(path.join(os.tmpdir(), 'ledger-chaos-'));
    const base = await freePortRange(20);
    const proxies = new Map<string, number>();
    let next = base + 11;
    for (const from of writerIds) for (const to of writerIds) if (from !== to) proxies.set(`${from}->${to}`, next++);
    const ports = {
      kafka: base, kafkaController: base + 1, postgres: base + 2,
      writerHttp: [base + 3, base + 4, base + 5], writerPeer: [base + 6, base + 7, base + 8],
      proxies, projector: base + 9, query: base + 10,
    };
    const platform = new ChaosPlatform(root, ports, options);
    try {
      await platform.#startAll();
    } catch (error) {
      const logs = platform.saveLogs();
      await platform.stop();
      throw new Error(`the platform did not start (process logs in ${logs}): ${(error as Error).message}`, { cause: error });
    }
    return platform;
  }

  get databaseUrl(): string {
    return this.#databaseUrl;
  }

  get kafkaBrokers(): string[] {
    return [`127.0.0.1:${this.#ports.kafka}`];
  }

  get queryUrl(): string {
    return `http://127.0.0.1:${this.#ports.query}`;
  }

  writerUrl(id: string): string {
    return `http://127.0.0.1:${this.#ports.writerHttp[writerIds.indexOf(id as (typeof writerIds)[number])]!}`;
  }

  get writerUrls(): string[] {
    return writerIds.map((id) => this.writerUrl(id));
  }

  isWriterRunning(id: string): boolean {
    return this.#writers.get(id)?.process !== undefined;
  }

  /** Restarts of the projector and query API that the platform did on its own after they exited. */
  get supervisedRestarts(): Record<string, number> {
    return { projector: this.#projector.restarts, queryApi: this.#queryApi.restarts };
  }

  async #startAll(): Promise<void> {
    const log = this.#log;
    const started = Date.now();
    [this.#kafka, this.#postgres] = await Promise.all([
      startLocalKafka({ dataDir: path.join(this.root, 'kafka'), port: this.#ports.kafka, controllerPort: this.#ports.kafkaController, heapMb: 512, log }),
      startEmbeddedPostgres({ dataDir: path.join(this.root, 'postgres'), port: this.#ports.postgres, database: 'ledger', log }),
    ]);
    this.#databaseUrl = this.#postgres.url;
    log.info({ ms: Date.now() - started }, 'chaos: Kafka and Postgres up');
    for (const [link, port] of this.#ports.proxies) {
      const to = link.split('->')[1]!;
      const proxy = new TcpProxy({ listen: { host: '127.0.0.1', port }, target: { host: '127.0.0.1', port: this.#ports.writerPeer[writerIds.indexOf(to as (typeof writerIds)[number])]! } });
      await proxy.start();
      this.#proxies.set(link, proxy);
    }
    const common = { ...process.env, KAFKA_BROKERS: this.kafkaBrokers.join(','), KAFKA_TOPIC: eventsTopic, LOG_LEVEL: process.env.CHAOS_SERVICE_LOG_LEVEL ?? 'warn' } as Record<string, string>;
    const clientUrls = writerIds.map((id) => `${id}=${this.writerUrl(id)}`).join(',');
    for (const [index, id] of writerIds.entries()) {
      const peers = writerIds.map((peer, peerIndex) => `${peer}=127.0.0.1:${peer === id ? this.#ports.writerPeer[peerIndex] : this.#ports.proxies.get(`${id}->${peer}`)}`).join(',');
      this.#writers.set(id, this.#slot(`writer-${id}`, 'writer/server.ts', `${this.writerUrl(id)}/health`, false, () => ({
        ...common,
        WRITER_NODE_ID: id, WRITER_HTTP_PORT: String(this.#ports.writerHttp[index]), WRITER_PEER_PORT: String(this.#ports.writerPeer[index]),
        WRITER_PEERS: peers, WRITER_CLIENT_URLS: clientUrls, WRITER_CLUSTER_ID: 'chaos',
        WRITER_DATA_DIR: path.join(this.root, `writer-${id}`), WRITER_BOOTSTRAP: 'false',
      })));
    }
    await Promise.all(writerIds.map((id) => this.#launch(this.#writers.get(id)!, { WRITER_BOOTSTRAP: 'true' })));
    this.#projector = this.#slot('projector', 'projector/main.ts', `http://127.0.0.1:${this.#ports.projector}/health`, true, () => ({
      ...common, DATABASE_URL: this.#databaseUrl, PROJECTOR_HTTP_PORT: String(this.#ports.projector), PROJECTOR_GROUP_ID: 'chaos-projector',
    }));
    await this.#launch(this.#projector);
    this.#queryApi = this.#slot('query-api', 'query-api/server.ts', `${this.queryUrl}/health`, true, () => ({
      ...common, DATABASE_URL: this.#databaseUrl, QUERY_HTTP_PORT: String(this.#ports.query), WRITER_URLS: this.writerUrls.join(','),
    }));
    await this.#launch(this.#queryApi);
    log.info({ ms: Date.now() - started, root: this.root }, 'chaos: platform up');
  }

  #slot(name: string, script: string, healthUrl: string, supervised: boolean, env: () => Record<string, string>): NodeProcessSlot {
    return { name, script, healthUrl, env, process: undefined, supervised, expectedDown: false, restarts: 0, outputs: [] };
  }

  async #launch(slot: NodeProcessSlot, extraEnv: Record<string, string> = {}): Promise<void> {
    assert.equal(slot.process, undefined, `${slot.name} is already running`);
    const running = runNodeScript(slot.script, { ...slot.env(), ...extraEnv });
    slot.process = running;
    slot.expectedDown = false;
    void running.exited.then((status) => {
      const unexpected = !this.#stopping && !slot.expectedDown;
      void running.drained.then(() => {
        slot.outputs.push(running.output());
        // Why it ended is in its last words (a passing run keeps no other log of it).
        if (unexpected) this.#log.warn({ name: slot.name, lastOutput: running.output().slice(-3_000) }, 'chaos: the last output of the process that exited on its own');
      });
      if (slot.process === running) slot.process = undefined;
      if (!unexpected) return;
      this.#log.warn({ name: slot.name, ...status }, 'chaos: process exited on its own');
      if (slot.supervised) {
        slot.restarts += 1;
        setTimeout(() => {
          if (!this.#stopping && slot.process === undefined) void this.#launch(slot).catch((error: unknown) => this.#log.error({ err: error, name: slot.name }, 'chaos: restart failed'));
        }, 500);
      }
    });
    const deadline = Date.now() + serviceStartTimeoutMs;
    while ((await httpStatus(slot.healthUrl, 1_000)) !== 200) {
      if (slot.process !== running) throw new Error(`${slot.name} exited during start:\n${running.output().slice(-4_000)}`);
      if (Date.now() > deadline) throw new Error(`${slot.name} not healthy within ${serviceStartTimeoutMs} ms:\n${running.output().slice(-4_000)}`);
      await sleep(pollMs * 4);
    }
  }

  async view(id: string, digest = false): Promise<WriterView | undefined> {
    try {
      const response = await fetch(`${this.writerUrl(id)}/v1/cluster${digest ? '?digest=true' : ''}`, { signal: AbortSignal.timeout(2_000) });
      return response.ok ? ((await response.json()) as WriterView) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The node that says it leads and that a majority of running nodes agrees on. */
  async leader(timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const views = (await Promise.all(writerIds.map((id) => (this.isWriterRunning(id) ? this.view(id) : undefined)))).filter((view) => view !== undefined);
      const leader = views.filter((view) => view.role === 'leader').sort((left, right) => right.term - left.term)[0];
      if (leader && views.filter((view) => view.leaderId === leader.nodeId && view.term === leader.term).length >= 2) return leader.nodeId;
      await sleep(pollMs);
    }
    throw new Error(`no writer leader within ${timeoutMs} ms`);
  }

  /** SIGKILL a writer node and wait until its pid is gone. Returns the pid it killed. */
  async killWriter(id: string): Promise<number> {
    return await this.#kill(this.#writers.get(id)!, 'SIGKILL');
  }

  async restartWriter(id: string): Promise<void> {
    await this.#launch(this.#writers.get(id)!);
  }

  /** SIGSTOP a writer node; returns its pid once /proc says it is stopped. */
  async pauseWriter(id: string): Promise<number> {
    const slot = this.#writers.get(id)!;
    const pid = slot.process?.child.pid;
    assert(pid !== undefined, `writer ${id} is not running`);
    slot.process!.child.kill('SIGSTOP');
    await waitFor(() => processState(pid) === 'T', processGoneTimeoutMs, `writer ${id} (pid ${pid}) to be stopped`);
    return pid;
  }

  resumeWriter(id: string): void {
    this.#writers.get(id)?.process?.child.kill('SIGCONT');
  }

  /**
   * SIGKILL the projector. It may be down already — it exits on purpose when Kafka or Postgres
   * go away and is restarted like `npm start`'s supervisor does — so wait (bounded) until it is
   * back and healthy first: killing nothing would not be a fault.
   */
  async killProjector(): Promise<number> {
    const slot = this.#projector;
    await waitFor(async () => slot.process !== undefined && (await httpStatus(slot.healthUrl, 1_000)) === 200, serviceStartTimeoutMs, 'the projector to be running before it is killed');
    return await this.#kill(slot, 'SIGKILL');
  }

  async restartProjector(): Promise<void> {
    await this.#launch(this.#projector);
  }

  /** SIGKILL the broker, wait until it is gone, start it again on the same ports and data. */
  async restartKafka(): Promise<number> {
    const kafka = this.#kafka;
    assert(kafka !== undefined, 'Kafka is not running');
    const pid = kafka.pid;
    process.kill(pid, 'SIGKILL');
    await kafka.exited;
    await waitFor(() => !pidExists(pid), processGoneTimeoutMs, `Kafka (pid ${pid}) to be gone`);
    this.#kafka = undefined;
    this.#kafka = await startLocalKafka({ dataDir: path.join(this.root, 'kafka'), port: this.#ports.kafka, controllerPort: this.#ports.kafkaController, heapMb: 512, log: this.#log });
    return pid;
  }

  /** SIGKILL the postmaster (a crash: recovery from WAL on start), wait until it is gone, start it again. */
  async restartPostgres(): Promise<number> {
    const dataDir = path.join(this.root, 'postgres');
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    assert(Number.isInteger(pid) && pid > 0, 'no postmaster pid');
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !pidExists(pid), processGoneTimeoutMs, `Postgres (pid ${pid}) to be gone`);
    // Backends notice the postmaster's death and exit; the port must be free before a new start.
    await sleep(500);
    this.#postgres = await startEmbeddedPostgres({ dataDir, port: this.#ports.postgres, database: 'ledger', log: this.#log });
    return pid;
  }

  /** Cuts writer `id` off from its peers in both directions (its client port stays up). */
  partition(id: string): void {
    for (const [link, proxy] of this.#proxies) {
      const [from, to] = link.split('->');
      if (from === id || to === id) {
        proxy.block('both');
        proxy.dropConnections();
      }
    }
  }

  healPartitions(): void {
    for (const proxy of this.#proxies.values()) proxy.unblock();
  }

  async #kill(slot: NodeProcessSlot, signal: NodeJS.Signals): Promise<number> {
    const running = slot.process;
    assert(running !== undefined && running.child.pid !== undefined, `${slot.name} is not running`);
    const pid = running.child.pid;
    slot.expectedDown = true;
    running.child.kill('SIGCONT');
    running.child.kill(signal);
    await running.exited;
    await waitFor(() => !pidExists(pid), processGoneTimeoutMs, `${slot.name} (pid ${pid}) to be gone`);
    return pid;
  }

  /** Brings back whatever a fault left down or cut off. */
  async healAll(): Promise<void> {
    this.healPartitions();
    for (const id of writerIds) {
      const slot = this.#writers.get(id)!;
      slot.process?.child.kill('SIGCONT');
      if (slot.process === undefined) await this.#launch(slot);
    }
    if (this.#projector.process === undefined) await this.#launch(this.#projector);
    if (this.#queryApi.process === undefined) await this.#launch(this.#queryApi);
  }

  /** Writes every process's output to the data directory (evidence for a failed run). */
  saveLogs(): string {
    const directory = path.join(this.root, 'logs');
    mkdirSync(directory, { recursive: true });
    for (const slot of [...this.#writers.values(), this.#projector, this.#queryApi]) {
      if (slot === undefined) continue;
      const current = slot.process?.output();
      writeFileSync(path.join(directory, `${slot.name}.log`), [...slot.outputs, ...(current === undefined ? [] : [current])].join('\n--- restarted ---\n'));
    }
    return directory;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    for (const slot of [...this.#writers.values(), this.#projector, this.#queryApi]) {
      if (slot?.process === undefined) continue;
      slot.process.child.kill('SIGCONT');
      slot.process.child.kill('SIGKILL');
      await slot.process.exited;
    }
    await Promise.all([...this.#proxies.values()].map((proxy) => proxy.stop()));
    await this.#kafka?.stop().catch(() => undefined);
    await this.#postgres?.stop().catch(() => undefined);
    if (!this.#keepData) rmSync(this.root, { recursive: true, force: true });
  }
}

export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return processState(pid) !== 'Z';
}

/** The one-letter state from /proc/<pid>/status (R, S, T, Z, …); undefined when the process is gone. */
export function processState(pid: number): string | undefined {
  try {
    return /State:\s+(\w)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];
  } catch {
    return undefined;
  }
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
