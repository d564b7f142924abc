/** A 3-member etcd cluster on loopback from Debian's `etcd-server` package, for side-by-side figures. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postText } from './http-client.ts';

export interface EtcdCluster {
  readonly clientUrls: string[];
  /** The members' process ids (for CPU shares), in member order. */
  readonly pids: (number | undefined)[];
  stop(): Promise<void>;
}

const cacheDirectory = path.resolve(import.meta.dirname, '..', '..', '.cache', 'etcd');
const cachedBinary = path.join(cacheDirectory, 'usr', 'bin', 'etcd');

function runs(binary: string): boolean {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0;
}

/**
 * The etcd binary to compare against: `etcd` on PATH, else Debian's `etcd-server` package fetched
 * once with `apt-get download` and unpacked (no install, no root) into .cache/etcd — so a fresh
 * machine of this kind runs the benchmark without a manual step. Throws naming what to do if
 * neither works.
 */
export function requireEtcd(): string {
  if (runs('etcd')) return 'etcd';
  if (existsSync(cachedBinary) && runs(cachedBinary)) return cachedBinary;
  console.error('[bench] etcd not found: fetching Debian\'s etcd-server package into .cache/etcd (first run only)');
  mkdirSync(cacheDirectory, { recursive: true });
  const download = spawnSync('apt-get', ['download', 'etcd-server'], { cwd: cacheDirectory, encoding: 'utf8' });
  const debian = readdirSync(cacheDirectory).find((name) => /^etcd-server_.*\.deb$/.test(name));
  if (debian !== undefined) spawnSync('dpkg-deb', ['-x', debian, '.'], { cwd: cacheDirectory, encoding: 'utf8' });
  if (existsSync(cachedBinary) && runs(cachedBinary)) return cachedBinary;
  throw new Error(`etcd is not available and could not be fetched (apt-get download etcd-server: ${download.error?.message ?? download.stderr.trim()}). `
    + 'The writer benchmark compares against a 3-member etcd cluster: install it with `apt-get install etcd-server` (Debian), or set BENCH_PEERS=false to skip the peers, then rerun.');
}

export async function startEtcdCluster(portBase: number): Promise<EtcdCluster> {
  const etcd = requireEtcd();
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-etcd-'));
  const names = ['e1', 'e2', 'e3'];
  const peerUrl = (index: number) => `http://127.0.0.1:${portBase + 10 + index}`;
  const clientUrl = (index: number) => `http://127.0.0.1:${portBase + index}`;
  const initialCluster = names.map((name, index) => `${name}=${peerUrl(index)}`).join(',');
  const children: ChildProcess[] = names.map((name, index) => spawn(etcd, [
    '--name', name, '--data-dir', path.join(root, name),
    '--listen-client-urls', clientUrl(index), '--advertise-client-urls', clientUrl(index),
    '--listen-peer-urls', peerUrl(index), '--initial-advertise-peer-urls', peerUrl(index),
    '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', 'bench',
    '--log-level', 'error', '--logger', 'zap',
  ], { stdio: 'ignore' }));
  const clientUrls = names.map((_, index) => clientUrl(index));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${clientUrls[0]}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = (await response.json()) as { health?: string };
      if (body.health === 'true') break;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    clientUrls,
    pids: children.map((child) => child.pid),
    stop: async () => {
      await Promise.all(children.map((child) => new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      })));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** One put through etcd's v3 JSON gateway (key and value base64), with the same client as ours. */
export async function etcdPut(clientUrl: string, key: string, value: string): Promise<void> {
  const response = await postText(`${clientUrl}/v3/kv/put`, JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') }));
  if (response.status !== 200) throw new Error(`etcd put: ${response.status} ${response.text.slice(0, 200)}`);
}
