/**
 * `npm start` as a new user runs it: everything from nothing (local Kafka from the jars, embedded
 * Postgres), every component healthy, Ctrl-C leaves no process behind, a second start reuses the
 * data directory; and unreachable dependencies fail fast with a clear message and a non-zero exit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePortRange, httpStatus, processesWithEnvironment, runNodeScript } from './support/processes.ts';

const readyTimeoutMs = 120_000;
const stopTimeoutMs = 45_000;
const failFastMs = 30_000;
const dataDirs: string[] = [];

afterAll(() => {
  for (const directory of dataDirs) {
    for (const pid of processesWithEnvironment('LEDGER_DATA_DIR', directory)) process.kill(pid, 'SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  }
});

function baseEnvironment(dataDir: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, LEDGER_DATA_DIR: dataDir, LOG_LEVEL: 'info' };
  delete env.KAFKA_BROKERS;
  delete env.DATABASE_URL;
  return env;
}

async function portsEnvironment(): Promise<Record<string, string>> {
  const base = await freePortRange(10);
  return {
    KAFKA_PORT: String(base), KAFKA_CONTROLLER_PORT: String(base + 1), EMBEDDED_POSTGRES_PORT: String(base + 2),
    QUERY_HTTP_PORT: String(base + 3), PROJECTOR_HTTP_PORT: String(base + 4),
    WRITER_HTTP_PORT_BASE: String(base + 5), WRITER_PEER_PORT_BASE: String(base + 8),
  };
}

describe('npm start', () => {
  it('starts everything from nothing, answers /health everywhere, stops cleanly on SIGINT and reuses its data on a second start', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-start-'));
    dataDirs.push(dataDir);
    const ports = await portsEnvironment();
    const env = { ...baseEnvironment(dataDir), ...ports };
    const healthUrls = [
      ...[0, 1, 2].map((offset) => `http://127.0.0.1:${Number(ports.WRITER_HTTP_PORT_BASE) + offset}/health`),
      `http://127.0.0.1:${ports.QUERY_HTTP_PORT}/health`,
      `http://127.0.0.1:${ports.PROJECTOR_HTTP_PORT}/health`,
    ];

    for (const round of ['first', 'second'] as const) {
      const started = Date.now();
      const platform = runNodeScript('platform/start.ts', env);
      await platform.waitForOutput(/"msg":"platform ready"/, readyTimeoutMs);
      const readyMs = Date.now() - started;
      expect(readyMs).toBeLessThan(readyTimeoutMs);
      for (const url of healthUrls) expect(await httpStatus(url), url).toBe(200);
      // Our processes are running now (sanity check that the leftover check below can see them).
      expect(processesWithEnvironment('LEDGER_DATA_DIR', dataDir).length).toBeGreaterThanOrEqual(7);
      const migrationsApplied = (platform.output().match(/"msg":"migration applied"/g) ?? []).length;
      if (round === 'first') expect(migrationsApplied).toBeGreaterThan(0);
      else expect(migrationsApplied).toBe(0); // the second start found the first one's database
      if (round === 'second') expect(platform.output()).not.toContain('formatted Kafka storage');
      if (round === 'first') {
        // The documented policy: a child that dies after start-up is reported loudly and restarted.
        const victims = processesWithEnvironment('WRITER_DATA_DIR', path.join(dataDir, 'writer-2'));
        expect(victims).toHaveLength(1);
        process.kill(victims[0]!, 'SIGKILL');
        await platform.waitForOutput(/writer-2 DIED \(SIGKILL\); restarting/, 15_000);
        const deadline = Date.now() + 30_000;
        while (await httpStatus(healthUrls[1]!) !== 200 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
        expect(await httpStatus(healthUrls[1]!)).toBe(200);
        expect(processesWithEnvironment('WRITER_DATA_DIR', path.join(dataDir, 'writer-2'))).not.toEqual(victims);
      }

      platform.child.kill('SIGINT');
      const exit = await Promise.race([platform.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), stopTimeoutMs))]);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(processesWithEnvironment('LEDGER_DATA_DIR', dataDir)).toEqual([]);
      for (const url of healthUrls) expect(await httpStatus(url, 500), url).toBe(0);
    }
  });

  it('fails within 30 s with a clear message when KAFKA_BROKERS points at nothing', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-start-'));
    dataDirs.push(dataDir);
    const started = Date.now();
    const platform = runNodeScript('platform/start.ts', { ...baseEnvironment(dataDir), ...(await portsEnvironment()), KAFKA_BROKERS: '127.0.0.1:1', DATABASE_URL: inject('databaseUrl') });
    const exit = await platform.exited;
    await platform.drained;
    expect(Date.now() - started).toBeLessThan(failFastMs);
    expect(exit.code).toBe(1);
    expect(platform.output()).toContain('cannot reach Kafka at 127.0.0.1:1');
    expect(processesWithEnvironment('LEDGER_DATA_DIR', dataDir)).toEqual([]);
  });

  it('fails within 30 s with a clear message when DATABASE_URL points at nothing', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-start-'));
    dataDirs.push(dataDir);
    const started = Date.now();
    const platform = runNodeScript('platform/start.ts', {
      ...baseEnvironment(dataDir), ...(await portsEnvironment()),
      KAFKA_BROKERS: inject('kafkaBrokers').join(','), DATABASE_URL: 'postgres://nobody@127.0.0.1:1/ledger',
    });
    const exit = await platform.exited;
    await platform.drained;
    expect(Date.now() - started).toBeLessThan(failFastMs);
    expect(exit.code).toBe(1);
    expect(platform.output()).toContain('cannot reach Postgres at postgres://nobody@127.0.0.1:1/ledger');
  });

  it('rejects an invalid setting before starting anything, naming the variable', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-start-'));
    dataDirs.push(dataDir);
    const platform = runNodeScript('platform/start.ts', { ...baseEnvironment(dataDir), QUERY_HTTP_PORT: 'eighty' });
    const exit = await platform.exited;
    await platform.drained;
    expect(exit.code).toBe(1);
    expect(platform.output()).toContain('QUERY_HTTP_PORT=\\"eighty\\"');
    expect(platform.output()).not.toContain('local Kafka broker ready');
  });
});
