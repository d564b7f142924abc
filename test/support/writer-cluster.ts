/**
 * A writer cluster of real node processes for end-to-end tests: start, SIGKILL, SIGSTOP/SIGCONT,
 * restart and stop nodes; find the leader; talk to the client API.
 *
 * The nodes run WITHOUT a Kafka publisher unless the caller passes `publisherEnvironment(brokers,
 * topic)` (tests that are not about publishing must not depend on a broker).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePortRange, httpStatus, runNodeScript, type RunningProcess } from './processes.ts';

const startTimeoutMs = 30_000;

export interface WriterProcess {
  readonly id: string;
  readonly url: string;
  readonly dataDir: string;
  process: RunningProcess | undefined;
}

export interface ClusterView {
  nodeId: string;
  role: string;
  term: number;
  leaderId: string | null;
  lastSeq: number;
  /** The replicated published watermark. */
  publishedSeq: number;
  snapshots: { taken: number; installed: number };
  /** Raft ticks that came ≥ 100 ms late (event loop blocked). */
  tickStalls: number;
  publisher: { state: string; publishedSeq: number | null; lagEvents: number | null; lagMs: number | null; transactions: number; retries: number; restarts: number; lastError: string | null };
  commitIndex: number;
  appliedIndex: number;
  votingBlocked: boolean;
  voters: string[];
  learners: string[];
  stateDigest?: string;
}

export class WriterCluster {
  readonly nodes: WriterProcess[];
  readonly #root: string;
  readonly #env: Record<string, string>;
  #bootstrapped = false;

  private constructor(root: string, nodes: WriterProcess[], env: Record<string, string>) {
    this.#root = root;
    this.nodes = nodes;
    this.#env = env;
  }

  static async create(size = 3, extraEnv: Record<string, string> = {}): Promise<WriterCluster> {
    const root = mkdtempSync(path.join(os.tmpdir(), 'ledger-writers-'));
    const base = await freePortRange(size * 2);
    const ids = Array.from({ length: size }, (_, index) => String(index + 1));
    const nodes = ids.map((id, index) => ({ id, url: `http://127.0.0.1:${base + index}`, dataDir: path.join(root, `writer-${id}`), process: undefined }));
    const env = {
      WRITER_PEERS: ids.map((id, index) => `${id}=127.0.0.1:${base + size + index}`).join(','),
      WRITER_CLIENT_URLS: nodes.map((node) => `${node.id}=${node.url}`).join(','),
      WRITER_CLUSTER_ID: 'e2e',
      WRITER_PUBLISHER: 'off',
      LOG_LEVEL: 'warn',
      ...extraEnv,
    };
    return new WriterCluster(root, nodes, env);
  }

  node(id: string): WriterProcess {
    const node = this.nodes.find((candidate) => candidate.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  async startAll(): Promise<void> {
    const bootstrap = !this.#bootstrapped;
    await Promise.all(this.nodes.map((node) => this.start(node, bootstrap)));
    this.#bootstrapped = true;
  }

  async start(node: WriterProcess, bootstrap = false, nodeEnv: Record<string, string> = {}): Promise<void> {
    const index = this.nodes.indexOf(node);
    const httpPort = new URL(node.url).port;
    const peerPort = this.#env.WRITER_PEERS!.split(',')[index]!.split(':')[1]!;
    node.process = runNodeScript('writer/server.ts', {
      ...process.env,
      ...this.#env,
      WRITER_NODE_ID: node.id,
      WRITER_HTTP_PORT: httpPort,
      WRITER_PEER_PORT: peerPort,
      WRITER_DATA_DIR: node.dataDir,
      WRITER_BOOTSTRAP: String(bootstrap),
      ...nodeEnv,
    });
    const running = node.process;
    let exited = false;
    void running.exited.then(() => (exited = true));
    const deadline = Date.now() + startTimeoutMs;
    while (!(await httpStatus(`${node.url}/health`, 1_000) === 200)) {
      if (exited) throw new Error(`writer ${node.id} exited during start:\n${running.output().slice(-4_000)}`);
      if (Date.now() > deadline) throw new Error(`writer ${node.id} not healthy within ${startTimeoutMs} ms:\n${running.output().slice(-4_000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async kill(node: WriterProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const running = node.process;
    if (!running) return;
    running.child.kill(signal);
    await running.exited;
    node.process = undefined;
  }

  pause(node: WriterProcess): void {
    node.process?.child.kill('SIGSTOP');
  }

  resume(node: WriterProcess): void {
    node.process?.child.kill('SIGCONT');
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.kill(node, 'SIGTERM')));
  }

  async destroy(): Promise<void> {
    for (const node of this.nodes) {
      node.process?.child.kill('SIGCONT');
      node.process?.child.kill('SIGKILL');
    }
    rmSync(this.#root, { recursive: true, force: true });
  }

  async view(node: WriterProcess, digest = false): Promise<ClusterView | undefined> {
    try {
      const response = await fetch(`${node.url}/v1/cluster${digest ? '?digest=true' : ''}`, { signal: AbortSignal.timeout(2_000) });
      return response.ok ? ((await response.json()) as ClusterView) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Each running node's count of late Raft ticks (event loop blocked ≥ 100 ms), from /v1/cluster. */
  async tickStalls(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const node of this.nodes) {
      const view = node.process === undefined ? undefined : await this.view(node);
      if (view !== undefined) counts.set(node.id, view.tickStalls);
    }
    return counts;
  }

  /** Late Raft ticks per running node since `before` (from tickStalls()), as `1: 3, 2: 0, 3: 5`. */
  async tickStallsSince(before: ReadonlyMap<string, number>): Promise<string> {
    const after = await this.tickStalls();
    return this.nodes.map((node) => `${node.id}: ${(after.get(node.id) ?? 0) - (before.get(node.id) ?? 0)}`).join(', ');
  }

  /** The node that says it leads and that a majority agrees on. */
  async waitForLeader(timeoutMs = 15_000, exclude?: WriterProcess): Promise<WriterProcess> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const views = await Promise.all(this.nodes.map((node) => (node.process && node !== exclude ? this.view(node) : undefined)));
      const leaders = views.filter((view): view is ClusterView => view?.role === 'leader');
      const leader = leaders.sort((left, right) => right.term - left.term)[0];
      if (leader) {
        const agreeing = views.filter((view) => view?.leaderId === leader.nodeId && view.term === leader.term).length;
        if (agreeing * 2 > this.nodes.length) return this.node(leader.nodeId);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  /** Waits until every running node has applied `seq` and returns their views (with digests). */
  async waitForConvergence(timeoutMs = 30_000): Promise<ClusterView[]> {
    const deadline = Date.now() + timeoutMs;
    let views: (ClusterView | undefined)[] = [];
    while (Date.now() < deadline) {
      views = await Promise.all(this.nodes.map((node) => this.view(node, true)));
      const present = views.filter((view): view is ClusterView => view !== undefined);
      if (present.length === this.nodes.length && new Set(present.map((view) => view.lastSeq)).size === 1
        && new Set(present.map((view) => view.appliedIndex)).size === 1 && present.every((view) => view.appliedIndex === view.commitIndex)) return present;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`nodes did not converge: ${JSON.stringify(views)}`);
  }
}

/** Environment that turns the nodes' Kafka publisher on, to `topic` on `brokers`. */
export function publisherEnvironment(brokers: readonly string[], topic: string): Record<string, string> {
  return { WRITER_PUBLISHER: 'on', KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC: topic, LEDGER_SHARDS: '1' };
}

export async function postJson(url: string, body: unknown, timeoutMs = 15_000): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.json() };
}
