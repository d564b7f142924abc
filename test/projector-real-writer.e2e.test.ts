/**
 * The projector's acceptance on events from the REAL writer (issue #6): three writer node
 * processes publish through their Kafka publisher; 20,000 transfers (single-phase, pending, posts
 * and voids) are written while the projector process is SIGKILLed mid-batch five times and
 * restarted. Afterwards:
 *   - the crashed-and-restarted projector's tables equal, byte for byte, those of a clean run of a
 *     second projector over the same topic into a fresh database (so replay is idempotent);
 *   - every account's four counters in the read model equal the writer's own state, and every
 *     transfer the writer acknowledged is a row;
 *   - the read-model invariants hold.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import { verifyReadModel } from '../projector/read-model-invariants.ts';
import { dumpVersion } from '../projector/test/read-model-dump.ts';
import { freePort } from './support/ports.ts';
import { runNodeScript, type RunningProcess } from './support/processes.ts';
import { createTestDatabase, uniqueName, uniqueTopic, type TestDatabase } from './support/isolation.ts';
import { postJson, publisherEnvironment, WriterCluster } from './support/writer-cluster.ts';

const transfersTotal = 20_000;
const transfersPerRequest = 200;
const accounts = 100;
const kills = 5;
const catchUpTimeoutMs = 120_000;

async function checkpointOf(db: Kysely<unknown>): Promise<number> {
  const result = await sql<{ seq: string }>`SELECT seq FROM ledger.checkpoints WHERE shard = 0`.execute(db).catch(() => ({ rows: [] }));
  return Number(result.rows[0]?.seq ?? 0);
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('projector on events from the real writer', () => {
  const topic = uniqueTopic('projector.real-writer');
  let cluster: WriterCluster;
  let crashed: TestDatabase<unknown>;
  let clean: TestDatabase<unknown>;
  const running: RunningProcess[] = [];

  const startProjector = async (database: TestDatabase<unknown>): Promise<RunningProcess> => {
    const child = runNodeScript('projector/main.ts', {
      ...process.env,
      DATABASE_URL: database.url, KAFKA_BROKERS: inject('kafkaBrokers').join(','), KAFKA_TOPIC: topic, LEDGER_SHARDS: '1',
      PROJECTOR_HTTP_PORT: String(await freePort()), PROJECTOR_GROUP_ID: uniqueName('real-writer'), PROJECTOR_EVENTS_PER_BATCH: '500', LOG_LEVEL: 'warn',
    });
    running.push(child);
    return child;
  };

  beforeAll(async () => {
    cluster = await WriterCluster.create(3, publisherEnvironment(inject('kafkaBrokers'), topic));
    await cluster.startAll();
    crashed = await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_real_crashed', { migrate: false });
    clean = await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_real_clean', { migrate: false });
  });

  afterAll(async () => {
    for (const child of running) if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    await cluster?.destroy();
    await crashed?.drop();
    await clean?.drop();
  });

  it('survives five SIGKILLs and ends equal to a clean run and to the writer state', async () => {
    const leader = await cluster.waitForLeader();
    const accountIds = Array.from({ length: accounts }, (_, index) => `acc-${index}`);
    const created = await postJson(`${leader.url}/v1/accounts`, { accounts: accountIds.map((id) => ({ id, ledger: 1, code: 10 })) });
    expect(created.status, JSON.stringify(created.body)).toBe(200);

    // Writes in the background: single-phase, pending, then posts and voids of those pendings.
    const acknowledged = new Set<string>();
    let written = 0;
    const writes = (async () => {
      let request = 0;
      const openPendings: string[] = [];
      while (written < transfersTotal) {
        const transfers: ({ id: string } & Record<string, unknown>)[] = [];
        for (let item = 0; item < transfersPerRequest; item += 1) {
          const id = `t-${request}-${item}`;
          const kind = (request * 7 + item) % 10;
          if (kind === 8 && openPendings.length > 0) transfers.push({ id, postPendingId: openPendings.pop()!, amount: '1' });
          else if (kind === 9 && openPendings.length > 0) transfers.push({ id, voidPendingId: openPendings.pop()! });
          else {
            const debit = accountIds[(request + item) % accounts]!;
            const credit = accountIds[(request * 3 + item + 1) % accounts]!;
            transfers.push({ id, debitAccountId: debit, creditAccountId: credit === debit ? accountIds[(request + item + 1) % accounts]! : credit, amount: String(1 + ((request * 31 + item) % 5_000)), ledger: 1, code: 1, ...(kind === 7 ? { pending: true, timeoutSeconds: 3_600 } : {}) });
          }
        }
        const answer = await postJson(`${cluster.nodes[request % cluster.nodes.length]!.url}/v1/transfers`, { transfers });
        if (answer.status !== 200) continue; // retried with the same ids
        (answer.body.results as { status: string }[]).forEach((result, index) => {
          const transfer = transfers[index]!;
          if (result.status === 'created' || result.status === 'exists') {
            acknowledged.add(transfer.id);
            if ('pending' in transfer) openPendings.unshift(transfer.id);
          }
        });
        written += transfers.length;
        request += 1;
      }
    })();

    const killedAt: number[] = [];
    for (let kill = 0; kill < kills; kill += 1) {
      const before = await checkpointOf(crashed.db);
      const child = await startProjector(crashed);
      await waitUntil(async () => (await checkpointOf(crashed.db)) >= before + 1_000 || child.child.exitCode !== null, catchUpTimeoutMs, `run ${kill + 1} of the projector to advance`);
      expect(child.child.exitCode, child.output()).toBeNull();
      child.child.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
      killedAt.push(await checkpointOf(crashed.db));
    }
    await writes;
    const views = await cluster.waitForConvergence();
    const lastSeq = views[0]!.lastSeq;
    expect(killedAt.every((seq, index) => seq > (killedAt[index - 1] ?? 0) && seq < lastSeq), `checkpoints at the kills: ${killedAt.join(', ')} of ${lastSeq}`).toBe(true);

    const final = await startProjector(crashed);
    await waitUntil(async () => (await checkpointOf(crashed.db)) === lastSeq, catchUpTimeoutMs, `the restarted projector to reach seq ${lastSeq}`);
    final.child.kill('SIGTERM');
    expect((await final.exited).code).toBe(0);

    const reference = await startProjector(clean);
    await waitUntil(async () => (await checkpointOf(clean.db)) === lastSeq, catchUpTimeoutMs, `the clean run to reach seq ${lastSeq}`);
    reference.child.kill('SIGTERM');
    await reference.exited;

    const expected = await dumpVersion(clean.db, 'ledger_v1');
    const actual = await dumpVersion(crashed.db, 'ledger_v1');
    for (const table of Object.keys(expected)) expect(actual[table] === expected[table], `table ${table} equals the clean run's`).toBe(true);

    const writerState = (await (await fetch(`${leader.url}/v1/admin/state`)).json()) as { accounts: { id: string; debitsPending: string; debitsPosted: string; creditsPending: string; creditsPosted: string }[] };
    const rows = await sql<{ id: string; debits_pending: string; debits_posted: string; credits_pending: string; credits_posted: string }>`
      SELECT id, debits_pending, debits_posted, credits_pending, credits_posted FROM ledger.accounts ORDER BY id`.execute(crashed.db);
    expect(rows.rows.map((row) => [row.id, row.debits_pending, row.debits_posted, row.credits_pending, row.credits_posted]))
      .toEqual([...writerState.accounts].sort((left, right) => (left.id < right.id ? -1 : 1)).map((account) => [account.id, account.debitsPending, account.debitsPosted, account.creditsPending, account.creditsPosted]));
    const transferIds = new Set((await sql<{ id: string }>`SELECT id FROM ledger.transfers`.execute(crashed.db)).rows.map((row) => row.id));
    const missing = [...acknowledged].filter((id) => !transferIds.has(id));
    expect(missing, 'acknowledged transfers missing from the read model').toEqual([]);
    expect(acknowledged.size).toBeGreaterThanOrEqual(transfersTotal * 0.9);
    // Every event after the accounts' creation created a transfer (no pending expires within the test).
    expect(await verifyReadModel(crashed.db, 'ledger_v1', lastSeq - accounts)).toEqual([]);
  }, 400_000);
});
