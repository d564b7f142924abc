/**
 * Runs the platform's processes as supervised children.
 *
 * Policy (documented in the README): while the platform is starting, a child that exits fails the
 * whole start. Once everything is healthy, a child that exits is reported loudly and restarted
 * with backoff; more than `restartsMax` restarts of one child within `restartWindowMs` stops the
 * whole platform with a non-zero exit, because something is persistently wrong.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../common/logger.ts';
import { relayOutput } from './log-relay.ts';

export interface ChildSpec {
  readonly name: string;
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  /** Overrides applied when the child is restarted (e.g. a writer must not bootstrap twice). */
  readonly restartEnv?: Readonly<Record<string, string>>;
  readonly healthUrl: string;
}

export const restartsMax = 5;
export const restartWindowMs = 60_000;
export const restartBackoffMsMax = 5_000;
export const childStopTimeoutMs = 15_000;
const healthPollMs = 250;
// kafkajs 2.2.4 passes negative delays to setTimeout on Node ≥ 23; Node clamps them to 1 ms.
export const nodeFlags = ['--disable-warning=TimeoutNegativeWarning'];
const healthRequestTimeoutMs = 2_000;

interface Supervised {
  readonly spec: ChildSpec;
  process: ChildProcess;
  exited: Promise<void>;
  restarts: number[];
}

export class Supervisor {
  readonly #log: Logger;
  readonly #terminal: boolean;
  readonly #children = new Map<string, Supervised>();
  #phase: 'starting' | 'running' | 'stopping' = 'starting';
  #failure: ((error: Error) => void) | undefined;
  readonly failed: Promise<Error>;

  constructor(log: Logger, terminal: boolean) {
    this.#log = log;
    this.#terminal = terminal;
    this.failed = new Promise((resolve) => {
      this.#failure = resolve;
    });
  }

  start(spec: ChildSpec): void {
    const child = this.#spawn(spec);
    this.#children.set(spec.name, child);
  }

  /** Waits until every child answers its health URL, or fails if one exits or time runs out. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(this.#children.keys());
    while (pending.size > 0) {
      for (const name of [...pending]) {
        const child = this.#children.get(name);
        if (child && (await isHealthy(child.spec.healthUrl))) {
          pending.delete(name);
          this.#log.info({ child: name }, 'healthy');
        }
      }
      if (pending.size === 0) break;
      if (Date.now() > deadline) throw new Error(`not healthy within ${timeoutMs} ms: ${[...pending].join(', ')}`);
      const failure = await Promise.race([this.failed, sleep(healthPollMs).then(() => undefined)]);
      if (failure) throw failure;
    }
    this.#phase = 'running';
  }

  /** SIGTERM to every child, SIGKILL after a bound; resolves when all have exited. */
  async stop(): Promise<void> {
    this.#phase = 'stopping';
    await Promise.all([...this.#children.values()].map(async (child) => {
      if (child.process.exitCode !== null || child.process.signalCode !== null) return;
      child.process.kill('SIGTERM');
      const timer = setTimeout(() => {
        this.#log.warn({ child: child.spec.name }, 'did not stop in time; killing');
        child.process.kill('SIGKILL');
      }, childStopTimeoutMs);
      await child.exited;
      clearTimeout(timer);
    }));
  }

  #spawn(spec: ChildSpec, restart = false): Supervised {
    const child = spawn(process.execPath, [...nodeFlags, spec.script], {
      env: { ...process.env, ...spec.env, ...(restart ? spec.restartEnv : {}), LEDGER_SUPERVISED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.stdout) relayOutput(spec.name, child.stdout, this.#terminal);
    if (child.stderr) relayOutput(spec.name, child.stderr, this.#terminal);
    const supervised: Supervised = {
      spec,
      process: child,
      restarts: this.#children.get(spec.name)?.restarts ?? [],
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    child.once('exit', (code, signal) => this.#onExit(supervised, code, signal));
    return supervised;
  }

  #onExit(child: Supervised, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#phase === 'stopping') return;
    const how = signal ?? `exit code ${code}`;
    if (this.#phase === 'starting') {
      this.#failure?.(new Error(`${child.spec.name} exited during start-up (${how}); its log is above`));
      return;
    }
    const now = Date.now();
    child.restarts = child.restarts.filter((at) => now - at < restartWindowMs);
    if (child.restarts.length >= restartsMax) {
      this.#failure?.(new Error(`${child.spec.name} exited (${how}) ${restartsMax + 1} times within ${restartWindowMs / 1000} s; giving up`));
      return;
    }
    child.restarts.push(now);
    const backoffMs = Math.min(restartBackoffMsMax, 250 * 2 ** (child.restarts.length - 1));
    this.#log.error({ child: child.spec.name, how, restartInMs: backoffMs, restarts: child.restarts.length }, `${child.spec.name} DIED (${how}); restarting`);
    setTimeout(() => {
      if (this.#phase !== 'running') return;
      this.#children.set(child.spec.name, this.#spawn(child.spec, true));
    }, backoffMs);
  }
}

async function isHealthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(healthRequestTimeoutMs) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
