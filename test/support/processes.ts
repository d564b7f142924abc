/** Helpers for tests that run the platform's real processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Resolves once the process has exited AND its stdout/stderr have been read to the end (or 2 s
   * after the exit, should a grandchild keep the pipes open). Node may emit 'exit' before the last
   * chunk a dying process wrote has been read, so read `output()` about a death after this.
   */
  readonly drained: Promise<void>;
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<string>;
}

export function runNodeScript(script: string, env: Record<string, string | undefined>, args: readonly string[] = []): RunningProcess {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', path.join(repositoryRoot, script), ...args], {
    cwd: repositoryRoot,
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const drained = exited.then(() => Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref())]));
  return {
    child,
    output: () => output,
    exited,
    drained,
    waitForOutput: (pattern, timeoutMs) => new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output);
        if (match) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(match[0]);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms; output so far:\n${output.slice(-6_000)}`));
      }, timeoutMs);
      listeners.add(check);
      void drained.then(() => {
        check();
        if (listeners.has(check)) {
          listeners.delete(check);
          clearTimeout(timer);
          reject(new Error(`process exited before printing ${pattern}; output:\n${output.slice(-6_000)}`));
        }
      });
      check();
    }),
  };
}

/** Pids of live processes whose environment contains `NAME=value` (how a test finds what a run left behind). */
export function processesWithEnvironment(name: string, value: string): number[] {
  const needle = `${name}=${value}\0`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environment = readFileSync(`/proc/${entry}/environ`, 'latin1');
      const status = readFileSync(`/proc/${entry}/status`, 'latin1');
      if (/State:\s+Z/.test(status)) continue; // zombies hold no resources
      if (environment.includes(needle)) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/**
 * `count` consecutive free TCP ports on 127.0.0.1, starting at a random base BELOW the kernel's
 * ephemeral range: a port in that range that is free now can be taken a moment later as the local
 * end of any outgoing connection (Kafka clients, Postgres pools…), and the server meant to listen
 * there then fails to start with EADDRINUSE.
 */
export async function freePortRange(count: number): Promise<number> {
  const lowest = 20_000;
  const highest = ephemeralPortsStart() - count;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = lowest + Math.floor(Math.random() * Math.max(1, highest - lowest));
    let free = true;
    for (let offset = 0; offset < count && free; offset += 1) free = await isFree(base + offset);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function ephemeralPortsStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/)[0]);
    if (Number.isInteger(start) && start > 21_000) return start;
  } catch {
    // not Linux: assume the IANA dynamic range
  }
  return 49_152;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function httpStatus(url: string, timeoutMs = 3_000): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}
