import { describe, expect, it } from 'vitest';
import { RaftNode } from './raft-node.ts';
import type { InstallSnapshot } from './message.ts';
import { Prng } from './sim/prng.ts';
import { bytes, defaultTestConfig, MemoryCluster } from './test/memory-cluster.ts';

const ids = ['a', 'b', 'c'];

describe('read barriers (thesis §6.4, via a no-op entry)', () => {
  it('barriers requested together share one no-op entry and resolve once it is committed and applied', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    cluster.deliverAll();
    const first = leader.barrier();
    const second = leader.barrier();
    expect(first.ok && second.ok).toBe(true);
    const lastBefore = leader.status().lastIndex;
    cluster.deliverAll();
    expect(leader.status().lastIndex).toBe(lastBefore + 1);
    expect(leader.entryAt(lastBefore + 1).kind).toBe('noop');
    const resolutions = cluster.readies.get(leader.id)!.flatMap((ready) => ready.barriersResolved);
    expect(resolutions).toEqual([{ barrierIds: [first.ok ? first.barrierId : -1, second.ok ? second.barrierId : -1], index: lastBefore + 1 }]);
    const appliedIndexes = cluster.applied.get(leader.id)!.map((entry) => entry.index);
    expect(appliedIndexes).toContain(lastBefore + 1);
  });

  it('a barrier requested after the shared entry was appended gets a new entry (never a stale one)', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    cluster.deliverAll();
    leader.barrier();
    const ready = leader.ready()!;
    const sharedIndex = leader.status().lastIndex;
    const late = leader.barrier();
    leader.advance(ready);
    cluster.queue.push(...ready.messages);
    cluster.deliverAll();
    const resolutions = cluster.readies.get(leader.id)!.flatMap((r) => r.barriersResolved);
    const lateResolution = resolutions.find((r) => late.ok && r.barrierIds.includes(late.barrierId));
    expect(lateResolution?.index).toBe(sharedIndex + 1);
  });

  it('a follower refuses barriers with not_leader; a deposed leader fails its pending barriers', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    const other = cluster.node(ids.find((id) => id !== leader.id)!);
    expect(other.barrier()).toEqual({ ok: false, error: { code: 'not_leader', leaderId: leader.id } });
    cluster.linkUp = (from, to) => from !== leader.id && to !== leader.id;
    const pending = leader.barrier();
    cluster.tick(leader.id, defaultTestConfig.electionTicksMin * 2);
    const failed = cluster.readies.get(leader.id)!.flatMap((r) => r.barriersFailed);
    expect(failed).toEqual([pending.ok ? pending.barrierId : -1]);
  });
});

describe('membership changes (thesis §4.1, §4.2)', () => {
  function joiner(id: string): RaftNode {
    const random = new Prng(3);
    return new RaftNode({ id, start: { type: 'join', data: {} }, ...defaultTestConfig, random: () => random.float() });
  }

  it('adds a learner, promotes it, one change at a time; changes take effect on append', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    cluster.deliverAll();
    cluster.add(joiner('d'));
    const added = leader.proposeMembershipChange({ type: 'add_learner', data: { nodeId: 'd' } });
    expect(added.ok).toBe(true);
    expect(leader.status().membership.learners).toEqual(['d']); // effective on append
    expect(leader.proposeMembershipChange({ type: 'promote', data: { nodeId: 'd' } })).toEqual({
      ok: false, error: { code: 'membership_change_in_progress' },
    });
    cluster.deliverAll();
    cluster.tickAll(defaultTestConfig.heartbeatTicks);
    expect(cluster.node('d').status().membership.learners).toEqual(['d']);
    expect(cluster.node('d').votingBlocked).toBe(true);
    expect(leader.proposeMembershipChange({ type: 'promote', data: { nodeId: 'd' } }).ok).toBe(true);
    cluster.deliverAll();
    expect(cluster.node('d').status().membership.voters).toEqual(['a', 'b', 'c', 'd']);
    expect(cluster.node('d').votingBlocked).toBe(false);
    expect(cluster.readies.get('d')!.some((ready) => ready.votingUnblocked)).toBe(true);
  });

  it('a node joining with an empty disk neither campaigns nor votes until promoted (wiped-disk safety)', () => {
    const node = joiner('d');
    for (let i = 0; i < 100; i++) node.tick();
    node.step({ type: 'vote_request', from: 'a', to: 'd', term: 5, lastLogIndex: 9, lastLogTerm: 4, leadershipTransfer: false });
    const ready = node.ready()!;
    expect(ready.messages).toEqual([{ type: 'vote_response', from: 'd', to: 'a', term: 5, granted: false }]);
    expect(node.status().role).toBe('follower');
  });

  it('refuses to promote a learner that has not caught up (thesis §4.2.1)', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    cluster.deliverAll();
    cluster.add(joiner('d'));
    cluster.linkUp = (from, to) => from !== 'd' && to !== 'd';
    expect(leader.proposeMembershipChange({ type: 'add_learner', data: { nodeId: 'd' } }).ok).toBe(true);
    cluster.deliverAll();
    expect(leader.proposeMembershipChange({ type: 'promote', data: { nodeId: 'd' } })).toEqual({
      ok: false, error: { code: 'learner_not_caught_up', nodeId: 'd' },
    });
  });

  it('a joined node promoted before a snapshot it installs may vote; its join floor is reported for persisting', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    cluster.deliverAll();
    cluster.add(joiner('d'));
    expect(leader.proposeMembershipChange({ type: 'add_learner', data: { nodeId: 'd' } }).ok).toBe(true);
    cluster.deliverAll();
    cluster.tickAll(defaultTestConfig.heartbeatTicks);
    const floors = cluster.readies.get('d')!.map((r) => r.joinFloor).filter((f) => f !== undefined);
    expect(floors.length).toBe(1);
    // d goes away; the leader promotes it (it had caught up), commits more and compacts.
    expect(leader.proposeMembershipChange({ type: 'promote', data: { nodeId: 'd' } }).ok).toBe(true);
    cluster.linkUp = (from, to) => from !== 'd' && to !== 'd';
    cluster.deliverAll();
    leader.propose([bytes('more')]);
    cluster.deliverAll();
    const applied = leader.status().appliedIndex;
    leader.compact(applied, bytes('state'), applied);
    expect(cluster.node('d').votingBlocked).toBe(true);
    cluster.linkUp = () => true;
    cluster.tickAll(defaultTestConfig.heartbeatTicks * 2);
    expect(cluster.readies.get('d')!.some((r) => r.snapshot !== undefined)).toBe(true);
    expect(cluster.node('d').votingBlocked).toBe(false);
  });

  it('rejects invalid changes with typed errors', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    cluster.deliverAll();
    expect(leader.proposeMembershipChange({ type: 'add_learner', data: { nodeId: 'b' } })).toEqual({ ok: false, error: { code: 'node_already_member', nodeId: 'b' } });
    expect(leader.proposeMembershipChange({ type: 'promote', data: { nodeId: 'b' } })).toEqual({ ok: false, error: { code: 'node_not_learner', nodeId: 'b' } });
    expect(leader.proposeMembershipChange({ type: 'remove', data: { nodeId: 'x' } })).toEqual({ ok: false, error: { code: 'node_not_member', nodeId: 'x' } });
  });

  it('a leader that removes itself steps down once the removal commits (thesis §4.2.2)', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    cluster.deliverAll();
    expect(leader.proposeMembershipChange({ type: 'remove', data: { nodeId: leader.id } }).ok).toBe(true);
    cluster.deliverAll();
    expect(leader.status().role).toBe('follower');
    const rest = ids.filter((id) => id !== leader.id);
    for (let i = 0; i < 100 && cluster.leader() === undefined; i++) for (const id of rest) cluster.tick(id);
    expect(rest).toContain(cluster.leader()?.id);
  });
});

describe('leadership transfer (thesis §3.10)', () => {
  it('catches the target up, sends TimeoutNow, and the target wins the next term', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    cluster.deliverAll();
    const target = ids.find((id) => id !== leader.id)!;
    const term = leader.status().term;
    expect(leader.transferLeadership(target)).toEqual({ ok: true });
    cluster.deliverAll();
    expect(cluster.node(target).status().role).toBe('leader');
    expect(cluster.node(target).status().term).toBe(term + 1);
    expect(leader.status().role).toBe('follower');
    expect(leader.transferLeadership('zz')).toEqual({ ok: false, error: { code: 'not_leader', leaderId: target } });
  });
});

describe('snapshots and compaction (§7)', () => {
  it('compacts below min(snapshot, floor) and streams InstallSnapshot in bounded chunks to a lagging follower', () => {
    const cluster = new MemoryCluster(ids, { snapshotChunkBytesMax: 10 });
    const leader = cluster.electLeader();
    cluster.deliverAll();
    const lagging = ids.find((id) => id !== leader.id)!;
    cluster.linkUp = (from, to) => from !== lagging && to !== lagging;
    for (let i = 0; i < 5; i++) leader.propose([bytes(`v${i}`)]);
    cluster.deliverAll();
    const applied = leader.status().appliedIndex;
    const snapshotData = bytes('application state of 37 bytes, or so');
    const snapshot = leader.compact(applied, snapshotData, applied - 2);
    expect(snapshot.metadata.index).toBe(applied);
    expect(leader.status().firstIndex).toBe(applied - 1); // the floor keeps two entries
    leader.compact(applied, snapshotData, applied);
    expect(leader.status().firstIndex).toBe(applied + 1);
    cluster.deliverAll();
    const compacted = cluster.readies.get(leader.id)!.map((r) => r.compactedTo).filter((v) => v !== undefined);
    expect(compacted).toEqual([applied]); // two compactions before one Ready: the shell learns the latest

    const chunks: InstallSnapshot[] = [];
    cluster.linkUp = () => true;
    const originalStep = cluster.node(lagging).step.bind(cluster.node(lagging));
    cluster.node(lagging).step = (message) => {
      if (message.type === 'install_snapshot') chunks.push(message);
      originalStep(message);
    };
    cluster.tickAll(defaultTestConfig.heartbeatTicks * 4);
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(snapshotData.length / 10));
    for (const chunk of chunks) expect(chunk.chunk.length).toBeLessThanOrEqual(10);
    const installed = cluster.readies.get(lagging)!.find((r) => r.snapshot !== undefined)?.snapshot;
    expect(new TextDecoder().decode(installed?.data)).toBe(new TextDecoder().decode(snapshotData));
    expect(cluster.node(lagging).status().commitIndex).toBe(leader.status().commitIndex);
  });
});

describe('restart from persisted state (Figure 2)', () => {
  it('keeps term, vote and log across a restart and replays committed entries above the snapshot', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    leader.propose([bytes('x=1')]);
    cluster.deliverAll();
    const readies = cluster.readies.get(leader.id)!;
    const entries = new Map<number, ReturnType<RaftNode['entryAt']>>();
    let hardState = { term: 0, votedFor: null as string | null, commit: 0 };
    for (const ready of readies) {
      for (const entry of ready.entries) {
        for (const index of [...entries.keys()]) if (index >= entry.index) entries.delete(index);
        entries.set(entry.index, entry);
      }
      if (ready.hardState !== undefined) hardState = { ...ready.hardState };
    }
    const status = leader.status();
    const restarted = new RaftNode({
      id: leader.id, ...defaultTestConfig, random: () => 0.5,
      start: { type: 'restore', data: { hardState, snapshot: undefined, entries: [...entries.values()] } },
    });
    expect(restarted.status()).toMatchObject({ term: status.term, votedFor: leader.id, lastIndex: status.lastIndex, role: 'follower' });
    const replay = restarted.ready()!;
    expect(replay.committedEntries.map((e) => e.index)).toEqual(Array.from({ length: hardState.commit }, (_, i) => i + 1));
  });
});
