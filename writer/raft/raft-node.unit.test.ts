import assert from 'node:assert/strict';
import { describe, expect, it } from 'vitest';
import { RaftNode } from './raft-node.ts';
import { RaftConfigError } from './raft-error.ts';
import { encodeMembershipEntry } from './membership.ts';
import type { AppendEntries, AppendResponse, Message } from './message.ts';
import { bytes, defaultTestConfig, MemoryCluster } from './test/memory-cluster.ts';

const ids = ['a', 'b', 'c'];

function follower(id: string, voters = ids, overrides: Partial<ConstructorParameters<typeof RaftNode>[0]> = {}): RaftNode {
  return new RaftNode({ id, start: { type: 'bootstrap', data: { voters } }, ...defaultTestConfig, random: () => 0.5, ...overrides });
}

function drain(node: RaftNode): Message[] {
  const messages: Message[] = [];
  for (let round = 0; round < 10; round++) {
    const ready = node.ready();
    if (ready === undefined) break;
    messages.push(...ready.messages);
    node.advance(ready);
  }
  return messages;
}

describe('config validation (etcd Config.validate)', () => {
  it('names the bad field', () => {
    const build = (overrides: object) => () => follower('a', ids, overrides);
    expect(build({ electionTicksMin: 0 })).toThrowError(expect.objectContaining({ field: 'electionTicksMin' }));
    expect(build({ electionTicksMax: 5 })).toThrowError(expect.objectContaining({ field: 'electionTicksMax' }));
    expect(build({ heartbeatTicks: 10 })).toThrowError(expect.objectContaining({ field: 'heartbeatTicks' }));
    expect(build({ inflightMessagesMax: 1.5 })).toThrowError(expect.objectContaining({ field: 'inflightMessagesMax' }));
    expect(() => follower('z')).toThrowError(RaftConfigError);
  });
});

describe('leader election (§5.2, Figure 2)', () => {
  it('elects exactly one leader, which appends a no-op of its term (§5.4.2, §8)', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    const leaders = ids.filter((id) => cluster.node(id).status().role === 'leader');
    expect(leaders).toEqual([leader.id]);
    const status = leader.status();
    const last = leader.entryAt(status.lastIndex);
    expect(last.kind).toBe('noop');
    expect(last.term).toBe(status.term);
    cluster.tickAll(3);
    for (const id of ids) expect(cluster.node(id).status().commitIndex).toBe(status.lastIndex);
  });

  it('persists the vote in the same Ready that carries the grant (Figure 2: before responding)', () => {
    const voter = follower('b');
    drain(voter);
    voter.step({ type: 'vote_request', from: 'a', to: 'b', term: 2, lastLogIndex: 1, lastLogTerm: 1, leadershipTransfer: false });
    const ready = voter.ready()!;
    expect(ready.hardState).toEqual({ term: 2, votedFor: 'a', commit: 0 });
    expect(ready.messages).toEqual([{ type: 'vote_response', from: 'b', to: 'a', term: 2, granted: true }]);
  });

  it('grants at most one vote per term (§5.2)', () => {
    const voter = follower('c');
    drain(voter);
    voter.step({ type: 'vote_request', from: 'a', to: 'c', term: 2, lastLogIndex: 1, lastLogTerm: 1, leadershipTransfer: false });
    voter.step({ type: 'vote_request', from: 'b', to: 'c', term: 2, lastLogIndex: 1, lastLogTerm: 1, leadershipTransfer: false });
    const grants = drain(voter).filter((m) => m.type === 'vote_response').map((m) => [m.to, m.type === 'vote_response' && m.granted]);
    expect(grants).toEqual([['a', true], ['b', false]]);
  });

  it('rejects a candidate whose log is less up to date (election restriction, §5.4.1)', () => {
    const voter = follower('c');
    drain(voter);
    voter.step({ type: 'vote_request', from: 'a', to: 'c', term: 2, lastLogIndex: 0, lastLogTerm: 0, leadershipTransfer: false });
    const responses = drain(voter).filter((m) => m.type === 'vote_response');
    expect(responses).toEqual([{ type: 'vote_response', from: 'c', to: 'a', term: 2, granted: false }]);
  });

  it('pre-vote keeps a partitioned node from inflating its term (thesis §9.6)', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    const isolated = ids.find((id) => id !== leader.id)!;
    const termBefore = cluster.node(isolated).status().term;
    cluster.linkUp = (from, to) => from !== isolated && to !== isolated;
    cluster.tick(isolated, 100);
    expect(cluster.node(isolated).status().term).toBe(termBefore);
    expect(cluster.node(isolated).status().role).toBe('pre_candidate');
  });

  it('a leader that cannot reach a quorum steps down after an election timeout (check-quorum, thesis §6.2)', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    cluster.linkUp = (from, to) => from !== leader.id && to !== leader.id;
    cluster.tick(leader.id, defaultTestConfig.electionTicksMin * 2);
    expect(leader.status().role).toBe('follower');
    expect(leader.status().leaderId).toBe(null);
  });

  it('ignores disruptive vote requests while a leader is heard from (leader lease, thesis §4.2.3)', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    const other = ids.find((id) => id !== leader.id)!;
    const term = cluster.node(other).status().term;
    cluster.node(other).step({ type: 'vote_request', from: 'z', to: other, term: term + 5, lastLogIndex: 99, lastLogTerm: 99, leadershipTransfer: false });
    cluster.deliverAll();
    expect(cluster.node(other).status().term).toBe(term);
  });

  it('two followers that time out together elect a leader in one round instead of splitting the vote', () => {
    // Equal timeouts on every node: both followers become pre-candidates on the same tick.
    const cluster = new MemoryCluster(ids, { random: () => 0.5 });
    const old = cluster.electLeader();
    cluster.deliverAll();
    const termBefore = old.status().term;
    cluster.linkUp = (from, to) => from !== old.id && to !== old.id;
    cluster.nodes.delete(old.id);
    const survivors = ids.filter((id) => id !== old.id);
    for (let tick = 0; tick <= defaultTestConfig.electionTicksMax && cluster.leader() === undefined; tick++) cluster.tickAll();
    const leader = cluster.leader();
    expect(leader?.id).toBe(survivors[0]); // the smaller id stands; the other grants
    expect(leader?.status().term).toBe(termBefore + 1); // one round: no split vote, no second term
  });

  it('a pre-candidate asks again a voter that ignored it while in its lease, and wins once the lease ends', () => {
    const cluster = new MemoryCluster(ids, { random: () => 0.99 }); // every timeout = electionTicksMax
    const old = cluster.electLeader();
    cluster.deliverAll();
    const [early, late] = ids.filter((id) => id !== old.id) as [string, string];
    cluster.nodes.delete(old.id);
    // `late` counted fewer ticks since the leader's last heartbeat (a busy or just restarted
    // process): still in its lease when `early` campaigns, so it ignores the pre-vote.
    const lateLag = defaultTestConfig.electionTicksMin - 4;
    cluster.tick(late, defaultTestConfig.electionTicksMin - lateLag);
    cluster.tick(early, defaultTestConfig.electionTicksMax);
    expect(cluster.node(early).status().role).toBe('pre_candidate');
    expect(cluster.leader()).toBeUndefined();
    let ticks = 0;
    while (cluster.leader() === undefined && ticks < defaultTestConfig.electionTicksMax) {
      cluster.tickAll();
      ticks++;
    }
    // Elected within a heartbeat interval of the lease's end, not a whole election timeout later.
    expect(cluster.leader()?.id).toBe(early);
    expect(ticks).toBeLessThanOrEqual(lateLag + defaultTestConfig.heartbeatTicks);
  });

  it('a follower whose lease ran out campaigns at once when it refuses a pre-vote from a peer behind its log', () => {
    const cluster = new MemoryCluster(ids, { random: () => 0.99 }); // every timeout = electionTicksMax
    const old = cluster.electLeader();
    cluster.deliverAll();
    const [ahead, behind] = ids.filter((id) => id !== old.id) as [string, string];
    cluster.linkUp = (from, to) => from !== behind && to !== behind;
    expect(old.propose([bytes('x=1')]).ok).toBe(true);
    cluster.deliverAll();
    expect(cluster.node(ahead).status().lastIndex).toBeGreaterThan(cluster.node(behind).status().lastIndex);
    // The leader dies; `ahead` has been without it for longer than the lease but less than its own timeout.
    cluster.nodes.delete(old.id);
    cluster.linkUp = () => true;
    cluster.tick(ahead, defaultTestConfig.electionTicksMin);
    expect(cluster.node(ahead).status().role).toBe('follower');
    for (let tick = 0; tick < defaultTestConfig.electionTicksMax && cluster.leader() === undefined; tick++) cluster.tick(behind);
    // `behind` campaigned first and was refused; `ahead` did not wait for its own timeout.
    expect(cluster.leader()?.id).toBe(ahead);
    expect(cluster.leader()?.status().term).toBe(old.status().term + 1);
  });
});

describe('peer-unreachable hints from the transport', () => {
  it('followers told their leader is unreachable elect a new one within two heartbeat intervals, not an election timeout', () => {
    const cluster = new MemoryCluster(ids, { random: () => 0.99 }); // every timeout = electionTicksMax
    const old = cluster.electLeader();
    cluster.deliverAll();
    const termBefore = old.status().term;
    cluster.nodes.delete(old.id);
    const survivors = ids.filter((id) => id !== old.id);
    for (const id of survivors) cluster.node(id).peerUnreachable(old.id);
    for (const id of survivors) expect(cluster.node(id).status().leaderId).toBeNull();
    let ticks = 0;
    while (cluster.leader() === undefined && ticks < defaultTestConfig.electionTicksMax) {
      cluster.tickAll();
      ticks++;
    }
    expect(cluster.leader()).toBeDefined();
    expect(ticks).toBeLessThanOrEqual(2 * defaultTestConfig.heartbeatTicks);
    expect(cluster.leader()?.status().term).toBe(termBefore + 1);
  });

  it('a wrong hint about a live leader changes no term: the other follower, still in its lease, refuses', () => {
    const cluster = new MemoryCluster(ids, { random: () => 0.99 });
    const leader = cluster.electLeader();
    cluster.deliverAll();
    const term = leader.status().term;
    const [told] = ids.filter((id) => id !== leader.id) as [string];
    // `told` cannot reach the leader (its link is cut one way), the leader and the third node are fine.
    cluster.linkUp = (from, to) => !(from === told && to === leader.id);
    cluster.node(told).peerUnreachable(leader.id);
    for (let tick = 0; tick < 3 * defaultTestConfig.electionTicksMax; tick++) cluster.tickAll();
    expect(cluster.leader()?.id).toBe(leader.id);
    for (const id of ids) expect(cluster.node(id).status().term).toBe(term);
  });

  it('a hint about a peer that is not the leader, or given to a leader, is ignored', () => {
    const cluster = new MemoryCluster(ids, { random: () => 0.99 });
    const leader = cluster.electLeader();
    cluster.deliverAll();
    const [first, second] = ids.filter((id) => id !== leader.id) as [string, string];
    cluster.node(first).peerUnreachable(second);
    leader.peerUnreachable(first);
    expect(cluster.node(first).status().leaderId).toBe(leader.id);
    expect(leader.status().role).toBe('leader');
    cluster.tick(first, defaultTestConfig.electionTicksMin - 1);
    expect(cluster.node(first).status().role).toBe('follower');
  });
});

describe('log replication (§5.3)', () => {
  it('replicates proposals and commits them on a quorum; followers learn commit from the leader', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    const result = leader.propose([bytes('x=1'), bytes('y=2')]);
    expect(result.ok).toBe(true);
    cluster.deliverAll();
    cluster.tickAll(defaultTestConfig.heartbeatTicks);
    for (const id of ids) {
      const payloads = cluster.applied.get(id)!.filter((e) => e.kind === 'normal').map((e) => new TextDecoder().decode(e.data));
      expect(payloads).toEqual(['x=1', 'y=2']);
    }
  });

  it('refuses proposals on a follower with not_leader and the known leader', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    const other = cluster.node(ids.find((id) => id !== leader.id)!);
    expect(other.propose([bytes('x')])).toEqual({ ok: false, error: { code: 'not_leader', leaderId: leader.id } });
  });

  it('bounds AppendEntries by entry count and bytes, and pipelines at most inflightMessagesMax per follower', () => {
    const cluster = new MemoryCluster(ids, { entriesPerMessageMax: 3, bytesPerMessageMax: 1 << 20, inflightMessagesMax: 2 });
    const leader = cluster.electLeader();
    cluster.deliverAll();
    leader.propose(Array.from({ length: 20 }, (_, i) => bytes(`v${i}`)));
    const ready = leader.ready()!;
    const appends = ready.messages.filter((m): m is AppendEntries => m.type === 'append_entries');
    for (const peer of ids.filter((id) => id !== leader.id)) {
      const toPeer = appends.filter((m) => m.to === peer);
      expect(toPeer.length).toBe(2);
      for (const m of toPeer) expect(m.entries.length).toBe(3);
    }
    leader.advance(ready);
    const small = new MemoryCluster(ids, { entriesPerMessageMax: 100, bytesPerMessageMax: 100 });
    const smallLeader = small.electLeader();
    small.deliverAll();
    smallLeader.propose(Array.from({ length: 10 }, () => new Uint8Array(40)));
    const smallAppends = smallLeader.ready()!.messages.filter((m): m is AppendEntries => m.type === 'append_entries');
    for (const m of smallAppends) expect(m.entries.reduce((sum, e) => sum + 24 + e.data.length, 0)).toBeLessThanOrEqual(100);
  });

  it('a follower truncates a conflicting suffix and says from which index in its Ready (§5.3)', () => {
    const node = follower('b');
    drain(node);
    node.step({
      type: 'append_entries', from: 'a', to: 'b', term: 2, prevLogIndex: 1, prevLogTerm: 1, commit: 1,
      entries: [2, 3, 4].map((index) => ({ index, term: 2, kind: 'normal' as const, data: bytes(`old${index}`) })),
    });
    drain(node);
    node.step({
      type: 'append_entries', from: 'c', to: 'b', term: 3, prevLogIndex: 2, prevLogTerm: 2, commit: 2,
      entries: [{ index: 3, term: 3, kind: 'normal', data: bytes('new3') }],
    });
    const ready = node.ready()!;
    expect(ready.entries.map((e) => [e.index, e.term])).toEqual([[3, 3]]);
    node.advance(ready);
    expect(node.status().lastIndex).toBe(3);
    expect(node.termAt(3)).toBe(3);
  });

  it('rejects a mismatching prevLogIndex with conflict hints for fast backtracking (§5.3)', () => {
    const node = follower('b');
    drain(node);
    node.step({
      type: 'append_entries', from: 'a', to: 'b', term: 2, prevLogIndex: 1, prevLogTerm: 1, commit: 1,
      entries: [2, 3, 4].map((index) => ({ index, term: 2, kind: 'normal' as const, data: bytes('x') })),
    });
    drain(node);
    node.step({ type: 'append_entries', from: 'c', to: 'b', term: 4, prevLogIndex: 4, prevLogTerm: 3, commit: 1, entries: [] });
    node.step({ type: 'append_entries', from: 'c', to: 'b', term: 4, prevLogIndex: 9, prevLogTerm: 3, commit: 1, entries: [] });
    const responses = drain(node).filter((m): m is AppendResponse => m.type === 'append_response');
    expect(responses.map((m) => [m.success, m.rejectedIndex, m.conflictTerm, m.conflictIndex])).toEqual([
      [false, 4, 2, 2],
      [false, 9, 0, 5],
    ]);
  });
});

describe('leader writes in parallel with its followers (thesis §10.2.1)', () => {
  it('sends its AppendEntries before persisting the entries, and never counts itself before it persisted them', () => {
    const cluster = new MemoryCluster(ids);
    const leader = cluster.electLeader();
    cluster.deliverAll();
    const proposed = leader.propose([bytes('x=1')]);
    assert(proposed.ok);
    const sending = leader.ready()!;
    expect(sending.entries).toEqual([]);
    const appends = sending.messages.filter((m): m is AppendEntries => m.type === 'append_entries');
    expect(appends.map((m) => m.entries.map((e) => e.index))).toEqual([[proposed.firstIndex], [proposed.firstIndex]]);
    leader.advance(sending);
    // One follower acknowledges while the leader's own write is in flight: 2 of 3 would be a
    // quorum only with the leader's unpersisted copy, so nothing commits yet.
    const follower = appends[0]!.to;
    leader.step({ type: 'append_response', from: follower, to: leader.id, term: leader.status().term, success: true, matchIndex: proposed.firstIndex, rejectedIndex: 0, conflictTerm: 0, conflictIndex: 0 });
    const persisting = leader.ready()!;
    expect(persisting.entries.map((e) => e.index)).toEqual([proposed.firstIndex]);
    expect(persisting.committedEntries).toEqual([]);
    expect(leader.status().commitIndex).toBeLessThan(proposed.firstIndex);
    leader.advance(persisting);
    expect(leader.status().commitIndex).toBe(proposed.firstIndex);
    // Committed entries are handed out without waiting for the next entries' write, and a hard
    // state whose commit is beyond the persisted log is held back with them.
    const next = leader.propose([bytes('y=2')]);
    assert(next.ok);
    const applying = leader.ready()!;
    expect(applying.committedEntries.map((e) => e.index)).toEqual([proposed.firstIndex]);
    expect(applying.entries).toEqual([]);
    expect(applying.hardState?.commit ?? 0).toBeLessThanOrEqual(proposed.firstIndex);
    leader.advance(applying);
    expect(leader.ready()!.entries.map((e) => e.index)).toEqual([next.firstIndex]);
  });

  it('a follower still acknowledges only entries it persisted in the same Ready', () => {
    const node = follower('b');
    drain(node);
    node.step({
      type: 'append_entries', from: 'a', to: 'b', term: 2, prevLogIndex: 1, prevLogTerm: 1, commit: 1,
      entries: [{ index: 2, term: 2, kind: 'normal', data: bytes('x') }],
    });
    const ready = node.ready()!;
    expect(ready.entries.map((e) => e.index)).toEqual([2]);
    expect(ready.messages.filter((m) => m.type === 'append_response')).toHaveLength(1);
  });
});

describe('commitment (§5.4.2, Figure 8)', () => {
  // Node a restarts with entry 2 of term 2 that never reached a quorum, wins term 4 and learns
  // that b stores entry 2: a quorum holds it, but it is of a previous term.
  function leaderWithOldEntry(bugs = {}): RaftNode {
    const membershipEntry = {
      index: 1, term: 1, kind: 'membership' as const,
      data: encodeMembershipEntry({ change: null, membership: { voters: ids, learners: [] } }),
    };
    const a = new RaftNode({
      id: 'a', ...defaultTestConfig, random: () => 0, bugs,
      start: {
        type: 'restore',
        data: {
          hardState: { term: 3, votedFor: null, commit: 1 },
          snapshot: undefined,
          entries: [membershipEntry, { index: 2, term: 2, kind: 'normal', data: bytes('old') }],
        },
      },
    });
    for (let i = 0; i < defaultTestConfig.electionTicksMin; i++) a.tick();
    expect(a.status().role).toBe('pre_candidate');
    a.step({ type: 'pre_vote_response', from: 'b', to: 'a', term: 4, granted: true });
    a.step({ type: 'vote_response', from: 'b', to: 'a', term: 4, granted: true });
    expect(a.status().role).toBe('leader');
    drain(a);
    a.step({ type: 'append_response', from: 'b', to: 'a', term: 4, success: true, matchIndex: 2, rejectedIndex: 0, conflictTerm: 0, conflictIndex: 0 });
    drain(a);
    return a;
  }

  it('does not commit a previous-term entry by counting replicas (§5.4.2)', () => {
    const a = leaderWithOldEntry();
    expect(a.status().commitIndex).toBe(1);
    a.step({ type: 'append_response', from: 'b', to: 'a', term: 4, success: true, matchIndex: 3, rejectedIndex: 0, conflictTerm: 0, conflictIndex: 0 });
    drain(a);
    expect(a.status().commitIndex).toBe(3);
  });

  it('the injected bug commitPreviousTermByCounting does commit it (so the simulator has something to catch)', () => {
    expect(leaderWithOldEntry({ commitPreviousTermByCounting: true }).status().commitIndex).toBe(2);
  });
});
