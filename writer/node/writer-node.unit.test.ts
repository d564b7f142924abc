/**
 * The writer node's shell logic on three nodes wired in memory: only the leader decides, answers
 * wait for commit, followers apply the same events (same state digest), a lost leader's waiting
 * requests fail rather than lie, speculative state stops double spends across uncommitted
 * batches, and barriers answer the seq at their point in the log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startInMemoryCluster, type InMemoryCluster } from './test/in-memory-cluster.ts';
import type { WriterNode } from './writer-node.ts';

let cluster: InMemoryCluster | undefined;
afterEach(() => cluster?.stop());

async function allApplied(target: InMemoryCluster, seq: number, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ([...target.nodes.values()].every((node) => target.isolated.has(node.cluster().nodeId) || node.cluster().lastSeq >= seq)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`not every node applied seq ${seq}`);
}

async function openAccounts(leader: WriterNode): Promise<void> {
  const result = await leader.submit({ type: 'CreateAccounts', data: { accounts: [
    { id: 'bank', ledger: 1, code: 1 },
    { id: 'alice', ledger: 1, code: 1, flags: { debitsMustNotExceedCredits: true } },
    { id: 'bob', ledger: 1, code: 1 },
  ] } });
  expect(result).toMatchObject({ ok: true, value: { position: { shard: 0, seq: 3 } } });
}

describe('writer node (in memory, 3 nodes)', () => {
  it('the leader decides, answers after commit with the position, and every node applies the same events', async () => {
    cluster = startInMemoryCluster(['1', '2', '3']);
    const leader = await cluster.waitForLeader();
    await openAccounts(leader);
    const deposit = await leader.submit({ type: 'CreateTransfers', data: { transfers: [
      { id: 'd-1', debitAccountId: 'bank', creditAccountId: 'alice', amount: 1000n, ledger: 1, code: 1 },
      { id: 't-1', debitAccountId: 'alice', creditAccountId: 'bob', amount: 300n, ledger: 1, code: 1 },
      { id: 't-2', debitAccountId: 'alice', creditAccountId: 'bob', amount: 800n, ledger: 1, code: 1 },
    ] } });
    expect(deposit).toEqual({ ok: true, value: {
      results: [{ id: 'd-1', status: 'created' }, { id: 't-1', status: 'created' }, { id: 't-2', status: 'insufficient_funds' }],
      position: { shard: 0, seq: 5 },
    } });
    await allApplied(cluster, 5);
    const digests = new Set([...cluster.nodes.values()].map((node) => node.cluster({ digest: true }).stateDigest));
    expect(digests.size).toBe(1);
    const follower = [...cluster.nodes.values()].find((node) => node !== leader)!;
    expect(await follower.submit({ type: 'CreateAccounts', data: { accounts: [{ id: 'x', ledger: 1, code: 1 }] } }))
      .toEqual({ ok: false, error: { code: 'not_leader', leaderId: leader.cluster().nodeId } });
    expect(follower.committedState.account('bob')?.creditsPosted).toBe(300n);
  });

  it('consecutive uncommitted batches see each other: no double spend before commit', async () => {
    cluster = startInMemoryCluster(['1', '2', '3'], 2);
    const leader = await cluster.waitForLeader();
    await openAccounts(leader);
    await leader.submit({ type: 'CreateTransfers', data: { transfers: [{ id: 'd-1', debitAccountId: 'bank', creditAccountId: 'alice', amount: 100n, ledger: 1, code: 1 }] } });
    // Both submitted in the same turn: the second is decided before the first commits.
    const [first, second] = await Promise.all([
      leader.submit({ type: 'CreateTransfers', data: { transfers: [{ id: 's-1', debitAccountId: 'alice', creditAccountId: 'bob', amount: 70n, ledger: 1, code: 1 }] } }),
      leader.submit({ type: 'CreateTransfers', data: { transfers: [{ id: 's-2', debitAccountId: 'alice', creditAccountId: 'bob', amount: 70n, ledger: 1, code: 1 }] } }),
    ]);
    expect(first.ok && first.value.results).toEqual([{ id: 's-1', status: 'created' }]);
    expect(second.ok && second.value.results).toEqual([{ id: 's-2', status: 'insufficient_funds' }]);
    // An idempotent retry answers `exists` only once the original is committed.
    const retry = await leader.submit({ type: 'CreateTransfers', data: { transfers: [{ id: 's-1', debitAccountId: 'alice', creditAccountId: 'bob', amount: 70n, ledger: 1, code: 1 }] } });
    expect(retry.ok && retry.value.results).toEqual([{ id: 's-1', status: 'exists' }]);
    expect(retry.ok && retry.value.position.seq).toBe(5);
  });

  it('a barrier answers the seq of the last event before it', async () => {
    cluster = startInMemoryCluster(['1', '2', '3'], 3);
    const leader = await cluster.waitForLeader();
    await openAccounts(leader);
    expect(await leader.barrier()).toEqual({ ok: true, value: { shard: 0, seq: 3 } });
  });

  it('an isolated leader cannot acknowledge: its request fails, the new leader serves, and the retry is idempotent', async () => {
    cluster = startInMemoryCluster(['1', '2', '3'], 4);
    const oldLeader = await cluster.waitForLeader();
    await openAccounts(oldLeader);
    cluster.isolated.add(oldLeader.cluster().nodeId);
    const stranded = await oldLeader.submit({ type: 'CreateAccounts', data: { accounts: [{ id: 'carol', ledger: 1, code: 1 }] } });
    expect(stranded.ok).toBe(false);
    expect(stranded.ok ? undefined : stranded.error.code).toMatch(/^(leadership_changed|commit_timeout|not_leader)$/);
    const newLeader = await cluster.waitForLeader();
    expect(newLeader).not.toBe(oldLeader);
    const retried = await newLeader.submit({ type: 'CreateAccounts', data: { accounts: [{ id: 'carol', ledger: 1, code: 1 }] } });
    expect(retried.ok && retried.value.results).toEqual([{ id: 'carol', status: 'created' }]);
    expect(retried.ok && retried.value.position.seq).toBe(4);
    // Healed: the old leader catches up to the same state and never applied its own stranded entry.
    cluster.isolated.clear();
    await allApplied(cluster, 4);
    expect(new Set([...cluster.nodes.values()].map((node) => node.cluster({ digest: true }).stateDigest)).size).toBe(1);
  });
});
