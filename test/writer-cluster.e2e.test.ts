/**
 * Issue "Writer service" acceptance on three real node processes:
 * - concurrent clients send 10,000 random transfers (retrying failures with the same ids) while the
 *   leader is SIGKILLed and restarted 3 times; afterwards every acknowledged transfer is applied
 *   exactly once on every node, balances equal the fold of the transfers present, all nodes report
 *   the same state digest, and the ledger invariants hold;
 * - stopping and restarting the whole cluster preserves the state exactly;
 * - a leader paused (SIGSTOP) past the election timeout and resumed does not accept writes as a
 *   stale leader.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../writer/raft/sim/prng.ts';
import { runNodeScript } from './support/processes.ts';
import { postJson, WriterCluster, type WriterProcess } from './support/writer-cluster.ts';

const accountsCount = 20;
const transfersTotal = 10_000;
const transfersPerRequest = 10;
const clientsCount = 8;
const leaderKills = 3;
const requestDeadlineMs = 60_000;

let cluster: WriterCluster;

beforeAll(async () => {
  // Snapshots every 100 entries (instead of 20,000): the run takes dozens on every node while it
  // is being killed and restarted, so recovery from snapshot + log and snapshots sent to a
  // lagging or wiped node are exercised on real processes.
  cluster = await WriterCluster.create(3, { WRITER_SNAPSHOT_EVERY_ENTRIES: '100' });
  await cluster.startAll();
});

afterAll(async () => {
  await cluster?.destroy();
});

interface Transfer { id: string; debitAccountId: string; creditAccountId: string; amount: string; ledger: number; code: number }

/** Sends one request to a random node until it gets a definite answer (200 or 400), same body every time. */
async function sendUntilAnswered(path: string, body: unknown, random: () => number): Promise<{ status: number; body: { results: { id: string; status: string }[] } }> {
  const deadline = Date.now() + requestDeadlineMs;
  let attempts = 0;
  while (Date.now() < deadline) {
    const node = cluster.nodes[Math.floor(random() * cluster.nodes.length)]!;
    attempts += 1;
    try {
      const answer = await postJson(`${node.url}${path}`, body, 10_000);
      if (answer.status === 200 || answer.status === 400) return answer;
    } catch {
      // node down or timed out: outcome unknown, retry with the same ids
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(500, 20 * attempts)));
  }
  throw new Error(`no definite answer for ${path} within ${requestDeadlineMs} ms`);
}

function seededRandom(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.float();
}

async function lookupAll(node: WriterProcess, ids: string[]): Promise<Map<string, { debitAccountId: string; creditAccountId: string; amount: string }>> {
  const found = new Map<string, { debitAccountId: string; creditAccountId: string; amount: string }>();
  for (let start = 0; start < ids.length; start += 5_000) {
    const answer = await postJson(`${node.url}/v1/admin/transfers/lookup`, { transferIds: ids.slice(start, start + 5_000) });
    expect(answer.status).toBe(200);
    for (const transfer of answer.body.found as { id: string; debitAccountId: string; creditAccountId: string; amount: string }[]) found.set(transfer.id, transfer);
  }
  return found;
}

async function stateOf(node: WriterProcess): Promise<{ lastSeq: number; accounts: { id: string; debitsPosted: string; creditsPosted: string }[]; violations: unknown[] }> {
  const response = await fetch(`${node.url}/v1/admin/state`);
  expect(response.status).toBe(200);
  return (await response.json()) as { lastSeq: number; accounts: { id: string; debitsPosted: string; creditsPosted: string }[]; violations: unknown[] };
}

describe('writer cluster of three real processes', () => {
  it('loses no acknowledged transfer and applies none twice while the leader is killed 3 times', async () => {
    const random = seededRandom(20261122);
    const accounts = [{ id: 'bank', ledger: 1, code: 1 }, ...Array.from({ length: accountsCount }, (_, index) => ({ id: `user-${index}`, ledger: 1, code: 2, flags: { debitsMustNotExceedCredits: true } }))];
    expect((await sendUntilAnswered('/v1/accounts', { accounts }, random)).status).toBe(200);
    const funding = accounts.slice(1).map((account) => ({ id: `fund-${account.id}`, debitAccountId: 'bank', creditAccountId: account.id, amount: '100000', ledger: 1, code: 1 }));
    expect((await sendUntilAnswered('/v1/transfers', { transfers: funding }, random)).status).toBe(200);

    const attempted: Transfer[] = [];
    const acknowledged = new Set<string>();
    let next = 0;
    let killsDone = 0;
    // Snapshot counters live as long as a process: count those of each leader before it is killed.
    let snapshotsTakenByKilled = 0;
    const workload = Array.from({ length: clientsCount }, async (_, client) => {
      const clientRandom = seededRandom(1000 + client);
      while (next < transfersTotal) {
        const batch: Transfer[] = [];
        for (let item = 0; item < transfersPerRequest && next < transfersTotal; item += 1) {
          const from = Math.floor(clientRandom() * accountsCount);
          const to = (from + 1 + Math.floor(clientRandom() * (accountsCount - 1))) % accountsCount;
          batch.push({ id: `t-${next}`, debitAccountId: `user-${from}`, creditAccountId: `user-${to}`, amount: String(1 + Math.floor(clientRandom() * 500)), ledger: 1, code: 7 });
          next += 1;
        }
        attempted.push(...batch);
        const answer = await sendUntilAnswered('/v1/transfers', { transfers: batch }, clientRandom);
        expect(answer.status).toBe(200);
        for (const result of answer.body.results) if (result.status === 'created' || result.status === 'exists') acknowledged.add(result.id);
      }
    });
    const faults = (async () => {
      while (killsDone < leaderKills) {
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const leader = await cluster.waitForLeader();
        snapshotsTakenByKilled += (await cluster.view(leader))?.snapshots.taken ?? 0;
        await cluster.kill(leader, 'SIGKILL');
        expect(leader.process).toBeUndefined();
        await cluster.waitForLeader(15_000, leader);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await cluster.start(leader);
        killsDone += 1;
      }
    })();
    await Promise.all([...workload, faults]);
    expect(killsDone).toBe(leaderKills);
    expect(attempted).toHaveLength(transfersTotal);
    expect(acknowledged.size).toBeGreaterThan(transfersTotal / 2);

    const views = await cluster.waitForConvergence();
    expect(new Set(views.map((view) => view.stateDigest)).size).toBe(1);
    // Snapshots were really taken during the run (by the processes alive now or by a leader before it was killed).
    expect(snapshotsTakenByKilled + views.reduce((sum, view) => sum + view.snapshots.taken, 0)).toBeGreaterThan(0);
    const ids = attempted.map((transfer) => transfer.id);
    for (const node of cluster.nodes) {
      const found = await lookupAll(node, ids);
      for (const id of acknowledged) expect(found.has(id), `acknowledged ${id} missing on node ${node.id}`).toBe(true);
      // Exactly once: every account's posted counters equal the fold of the transfers present.
      const expected = new Map<string, { debits: bigint; credits: bigint }>();
      const touch = (id: string) => expected.get(id) ?? expected.set(id, { debits: 0n, credits: 0n }).get(id)!;
      for (const transfer of [...funding, ...found.values()]) {
        touch(transfer.debitAccountId).debits += BigInt(transfer.amount);
        touch(transfer.creditAccountId).credits += BigInt(transfer.amount);
      }
      const state = await stateOf(node);
      expect(state.violations).toEqual([]);
      for (const account of state.accounts) {
        const fold = expected.get(account.id) ?? { debits: 0n, credits: 0n };
        expect({ id: account.id, debits: BigInt(account.debitsPosted), credits: BigInt(account.creditsPosted) }).toEqual({ id: account.id, debits: fold.debits, credits: fold.credits });
      }
    }
  }, 300_000);

  it('keeps the state exactly across a stop and restart of the whole cluster', async () => {
    const before = await cluster.waitForConvergence();
    await cluster.stopAll();
    await cluster.startAll();
    await cluster.waitForLeader();
    const after = await cluster.waitForConvergence();
    expect(after.map((view) => view.lastSeq)).toEqual(before.map((view) => view.lastSeq));
    expect(new Set(after.map((view) => view.stateDigest))).toEqual(new Set([before[0]!.stateDigest]));
  }, 120_000);

  it('a leader paused past the election timeout does not accept writes as a stale leader', async () => {
    const oldLeader = await cluster.waitForLeader();
    cluster.pause(oldLeader);
    const newLeader = await cluster.waitForLeader(15_000, oldLeader);
    expect(newLeader).not.toBe(oldLeader);
    const winner = { id: 'stale-check', debitAccountId: 'bank', creditAccountId: 'user-0', amount: '5', ledger: 1, code: 1 };
    expect((await postJson(`${newLeader.url}/v1/transfers`, { transfers: [winner] })).body.results).toEqual([{ id: 'stale-check', status: 'created' }]);
    cluster.resume(oldLeader);
    // The old leader's first answer after resuming: it must not acknowledge a conflicting body.
    const conflicting = await postJson(`${oldLeader.url}/v1/transfers`, { transfers: [{ ...winner, amount: '6' }] });
    if (conflicting.status === 200) expect(conflicting.body.results).toEqual([{ id: 'stale-check', status: 'exists_with_different_fields' }]);
    else expect(conflicting.status).toBe(503);
    const views = await cluster.waitForConvergence();
    expect(new Set(views.map((view) => view.stateDigest)).size).toBe(1);
    const found = await lookupAll(oldLeader, ['stale-check']);
    expect(found.get('stale-check')?.amount).toBe('5');
  }, 120_000);

  it('a node that lost its disk rejoins as a non-voter and votes again only after ledgerctl re-adds and promotes it', async () => {
    const leader = await cluster.waitForLeader();
    const victim = cluster.nodes.find((node) => node !== leader)!;
    await cluster.kill(victim, 'SIGKILL');
    rmSync(victim.dataDir, { recursive: true, force: true });
    await cluster.start(victim, false);
    const rejoined = await cluster.view(victim);
    expect(rejoined?.votingBlocked).toBe(true);
    const ctl = async (...args: string[]) => {
      const run = runNodeScript('writer/cli/ledgerctl.ts', { ...process.env, WRITER_CLIENT_URLS: cluster.nodes.map((node) => `${node.id}=${node.url}`).join(',') }, args);
      const exit = await run.exited;
      await run.drained;
      return { code: exit.code, output: run.output() };
    };
    expect((await ctl('remove', victim.id)).code).toBe(0);
    expect((await ctl('add-learner', victim.id)).code).toBe(0);
    const deadline = Date.now() + 30_000;
    let promoted = await ctl('promote', victim.id);
    while (promoted.code !== 0 && Date.now() < deadline) {
      expect(promoted.output).toMatch(/learner_not_caught_up|membership_change_in_progress/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      promoted = await ctl('promote', victim.id);
    }
    expect(promoted.code).toBe(0);
    const views = await cluster.waitForConvergence();
    expect(new Set(views.map((view) => view.stateDigest)).size).toBe(1);
    const after = await cluster.view(victim);
    expect(after?.votingBlocked).toBe(false);
    // The others' logs are compacted far past where the wiped node starts: it caught up from a snapshot.
    expect(after?.snapshots.installed).toBeGreaterThan(0);
    expect([...(after?.voters ?? [])].sort()).toEqual(['1', '2', '3']);
    const status = await ctl('status');
    expect(status.code).toBe(0);
    expect(status.output).toContain('"leader"');

    // Leadership transfer to the re-added node.
    expect((await ctl('transfer-leadership', victim.id)).code).toBe(0);
    const newLeader = await cluster.waitForLeader();
    expect(newLeader.id).toBe(victim.id);
  }, 120_000);
});
