/**
 * The node's side of publishing, on three nodes wired in memory (the Kafka side is tested against
 * a real broker in writer/publisher/*.int.test.ts and the e2e tests): the applied log serves every
 * event above the replicated watermark with its seq, index and term; watermark records reach every
 * node and never move seq; compaction keeps the log from the first unpublished event; a snapshot
 * carries the unpublished records, so a node restored from it (from disk, or a lagging follower
 * that installs the leader's snapshot) can still publish them; without a publisher nothing is held
 * back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import type { EnvelopeInput } from '../../common/events/envelope.ts';
import type { Snapshot } from '../raft/message.ts';
import type { RaftRole } from '../raft/ready.ts';
import { decodeBinarySnapshot, encodeBinarySnapshot } from '../ledger/index.ts';
import { decodeNodeSnapshot } from './node-snapshot.ts';
import { startInMemoryCluster, type InMemoryCluster } from './test/in-memory-cluster.ts';
import { publisherOffView, WriterNode, type NodePublisher, type NodePublisherContext, type PublisherView } from './writer-node.ts';

let cluster: InMemoryCluster | undefined;
afterEach(() => cluster?.stop());

/** Stands in for the Kafka publisher at the node's seam: reads the node's source like the real one. */
class SinkPublisher implements NodePublisher {
  readonly context: NodePublisherContext;
  role: RaftRole = 'follower';
  term = 0;
  notifications = 0;

  constructor(context: NodePublisherContext) {
    this.context = context;
  }

  roleChanged(role: RaftRole, term: number): void {
    this.role = role;
    this.term = term;
  }

  notify(): void {
    this.notifications += 1;
  }

  view(): PublisherView {
    return { ...publisherOffView, state: this.role === 'leader' ? 'publishing' : 'not_leader' };
  }

  async stop(): Promise<void> {}

  /** "Publishes" every event up to `seq` (reading them from the node) and proposes the watermark. */
  publishUpTo(seq: number): boolean {
    const from = this.context.replicatedPublishedSeq() + 1;
    const events = this.context.source.read(from, seq - from + 1);
    expect(events.map((event) => event.seq)).toEqual(range(from, seq));
    return this.context.proposeWatermark(seq, this.term);
  }
}

function range(first: number, last: number): number[] {
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, offset) => first + offset);
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function startPublishingCluster(snapshots: Map<string, Snapshot[]>, seed: number): { cluster: InMemoryCluster; sinks: Map<string, SinkPublisher> } {
  const sinks = new Map<string, SinkPublisher>();
  const started = startInMemoryCluster(['1', '2', '3'], seed, {
    limits: { snapshotEveryEntries: 16 },
    snapshots,
    publisher: (nodeId, context) => {
      const sink = new SinkPublisher(context);
      sinks.set(nodeId, sink);
      return sink;
    },
  });
  return { cluster: started, sinks };
}

async function openAccounts(leader: WriterNode): Promise<void> {
  const result = await leader.submit({ type: 'CreateAccounts', data: { accounts: [{ id: 'bank', ledger: 1, code: 1 }, { id: 'alice', ledger: 1, code: 1 }, { id: 'bob', ledger: 1, code: 1 }] } });
  expect(result.ok).toBe(true);
}

/** `count` transfers, one entry (one event) each. */
async function transfers(leader: WriterNode, prefix: string, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const result = await leader.submit({ type: 'CreateTransfers', data: { transfers: [{ id: `${prefix}-${index}`, debitAccountId: 'bank', creditAccountId: index % 2 ? 'alice' : 'bob', amount: BigInt(index + 1), ledger: 1, code: 1 }] } });
    expect(result.ok).toBe(true);
  }
}

function readAll(node: WriterNode, fromSeq: number): EnvelopeInput[] {
  return node.eventSource.read(fromSeq, 100_000);
}

describe('publishing from the applied log (in memory, 3 nodes)', () => {
  it('serves every applied event with seq, index and term; a watermark record reaches every node and never moves seq', async () => {
    const snapshots = new Map<string, Snapshot[]>();
    const started = startPublishingCluster(snapshots, 11);
    cluster = started.cluster;
    const leader = await cluster.waitForLeader();
    await openAccounts(leader);
    await transfers(leader, 'a', 10);
    const nodes = [...cluster.nodes.values()];
    await until(() => nodes.every((node) => node.cluster().lastSeq === 13), 'every node applied seq 13');
    const events = readAll(leader, 1);
    expect(events.map((event) => event.seq)).toEqual(range(1, 13));
    expect(events.slice(0, 3).map((event) => [event.event.type, event.eventIndex])).toEqual([['AccountCreated', 0], ['AccountCreated', 1], ['AccountCreated', 2]]);
    expect(new Set(events.slice(0, 3).map((event) => event.raftIndex)).size).toBe(1);
    expect(events[3]).toMatchObject({ seq: 4, eventIndex: 0, event: { type: 'TransferCreated', data: { id: 'a-0', amount: 1n } } });
    expect(events.every((event) => event.raftTerm === leader.cluster().term && event.shard === 0)).toBe(true);
    expect(leader.eventSource.read(5, 2).map((event) => event.seq)).toEqual([5, 6]);
    expect(leader.eventSource.read(14, 10)).toEqual([]);
    for (const node of nodes) expect(readAll(node, 1)).toEqual(events);
    expect(nodes.map((node) => node.eventSource.firstReadableSeq())).toEqual([1, 1, 1]);

    const sink = started.sinks.get(leader.cluster().nodeId)!;
    expect(sink.notifications).toBeGreaterThan(0);
    expect(sink.publishUpTo(9)).toBe(true);
    expect(sink.publishUpTo(9)).toBe(false); // already proposed
    await until(() => nodes.every((node) => node.cluster().publishedSeq === 9), 'every node applied the watermark');
    expect(nodes.map((node) => node.cluster().lastSeq)).toEqual([13, 13, 13]);
    const follower = nodes.find((node) => node !== leader)!;
    expect(started.sinks.get(follower.cluster().nodeId)!.context.proposeWatermark(12, leader.cluster().term)).toBe(false); // not the leader
    expect(sink.context.proposeWatermark(12, leader.cluster().term - 1)).toBe(false); // a stale term
  });

  it('compacts only up to the first unpublished event, and a node restored from its snapshot serves read(publishedSeq + 1, …)', async () => {
    const snapshots = new Map<string, Snapshot[]>();
    const started = startPublishingCluster(snapshots, 12);
    cluster = started.cluster;
    const leader = await cluster.waitForLeader();
    const leaderId = leader.cluster().nodeId;
    await openAccounts(leader);
    await transfers(leader, 'a', 30);
    // Nothing published yet: snapshots are taken, but the log keeps everything.
    await until(() => (snapshots.get(leaderId)?.length ?? 0) >= 1, 'a first snapshot');
    expect(leader.eventSource.firstReadableSeq()).toBe(1);
    expect(readAll(leader, 1).map((event) => event.seq)).toEqual(range(1, 33));

    expect(started.sinks.get(leaderId)!.publishUpTo(20)).toBe(true);
    await until(() => leader.cluster().publishedSeq === 20, 'the watermark applied');
    const snapshotsBefore = snapshots.get(leaderId)!.length;
    await transfers(leader, 'b', 30);
    await until(() => snapshots.get(leaderId)!.length > snapshotsBefore, 'a snapshot after the watermark');
    const first = leader.eventSource.firstReadableSeq();
    expect(first).toBeGreaterThan(1); // compacted …
    expect(first).toBeLessThanOrEqual(21); // … but never past the watermark
    const expected = readAll(leader, 21);
    expect(expected.map((event) => event.seq)).toEqual(range(21, 63));

    const latest = snapshots.get(leaderId)!.at(-1)!;
    const carried = decodeNodeSnapshot(latest.data);
    expect(carried.publishedSeq).toBe(20);
    expect(carried.floorSeq).toBeLessThanOrEqual(20);
    expect(carried.records.length).toBeGreaterThan(0);
    // A node restored from that snapshot alone (the log entries it covers are gone) still serves them.
    const restored = new WriterNode({
      nodeId: leaderId, shard: 0, log: createLogger('restored', 'silent'), idGenerator: () => 'unused',
      storage: { persistAsync: async () => undefined, persist: () => undefined, saveSnapshotAsync: async () => undefined, close: () => undefined },
      transport: { send: () => undefined },
      raft: {
        id: leaderId, start: { type: 'restore', data: { hardState: { term: latest.metadata.term, votedFor: null, commit: latest.metadata.index }, snapshot: latest, entries: [] } },
        electionTicksMin: 10, electionTicksMax: 20, heartbeatTicks: 2, entriesPerMessageMax: 64, bytesPerMessageMax: 1 << 20, inflightMessagesMax: 4, snapshotChunkBytesMax: 1 << 20, random: () => 0.5,
      },
    });
    const restoredLastSeq = restored.cluster().lastSeq;
    expect(restored.cluster().publishedSeq).toBe(20);
    expect(restored.eventSource.firstReadableSeq()).toBeLessThanOrEqual(21);
    expect(readAll(restored, 21)).toEqual(expected.filter((event) => event.seq <= restoredLastSeq));
    expect(restoredLastSeq).toBeGreaterThan(21);
  });

  it('a follower that installs the leader snapshot (above the floor) can still publish the events the snapshot covers', async () => {
    const snapshots = new Map<string, Snapshot[]>();
    const started = startPublishingCluster(snapshots, 13);
    cluster = started.cluster;
    const leader = await cluster.waitForLeader();
    const leaderId = leader.cluster().nodeId;
    await openAccounts(leader);
    const lagging = [...cluster.nodes.values()].find((node) => node !== leader)!;
    const laggingId = lagging.cluster().nodeId;
    await until(() => lagging.cluster().lastSeq === 3, 'the follower applied the accounts');
    cluster.isolated.add(laggingId);
    await transfers(leader, 'a', 40);
    expect(started.sinks.get(leaderId)!.publishUpTo(30)).toBe(true);
    await transfers(leader, 'b', 40); // snapshots and compaction up to the floor near seq 30
    await until(() => leader.eventSource.firstReadableSeq() > 4, 'the leader compacted past what the follower has');
    expect(lagging.cluster().lastSeq).toBe(3);
    cluster.isolated.delete(laggingId);
    const leaderLastSeq = leader.cluster().lastSeq;
    await until(() => lagging.cluster().lastSeq >= leaderLastSeq, 'the lagging follower caught up');
    expect(lagging.stats.snapshotsInstalled).toBeGreaterThanOrEqual(1);
    expect(lagging.cluster().publishedSeq).toBeGreaterThanOrEqual(30);
    // It never received the entries between the floor and the snapshot index as entries; the snapshot carried them.
    expect(lagging.eventSource.firstReadableSeq()).toBeLessThanOrEqual(31);
    expect(readAll(lagging, 31)).toEqual(readAll(leader, 31));
  });

  it('large entries are snapshotted and compacted by their bytes, long before the entry count is reached', async () => {
    cluster = startInMemoryCluster(['1', '2', '3'], 15, { limits: { snapshotEveryEntries: 1_000_000, snapshotEveryBytes: 16_384 } });
    const leader = await cluster.waitForLeader();
    await openAccounts(leader);
    for (let request = 0; request < 12; request += 1) {
      const batch = Array.from({ length: 50 }, (_, index) => ({ id: `big-${request}-${index}`, debitAccountId: 'bank', creditAccountId: 'alice', amount: 1n, ledger: 1, code: 1 }));
      expect((await leader.submit({ type: 'CreateTransfers', data: { transfers: batch } })).ok).toBe(true);
    }
    const nodes = [...cluster.nodes.values()];
    await until(() => nodes.every((node) => node.stats.snapshots >= 1 && node.eventSource.firstReadableSeq() > 1), 'every node snapshotted and compacted');
    expect(leader.stats.appliedEntries).toBeLessThan(100);
  });

  it('snapshots that reuse encoded transfer chunks hold exactly what encoding their state afresh gives', async () => {
    const snapshots = new Map<string, Snapshot[]>();
    cluster = startInMemoryCluster(['1', '2', '3'], 16, { limits: { snapshotEveryEntries: 3 }, snapshots });
    const leader = await cluster.waitForLeader();
    await openAccounts(leader);
    for (let request = 0; request < 9; request += 1) {
      const batch = Array.from({ length: 8_190 }, (_, index) => ({ id: `c-${request}-${index}`, debitAccountId: 'bank', creditAccountId: 'alice', amount: 1n, ledger: 1, code: 1 }));
      expect((await leader.submit({ type: 'CreateTransfers', data: { transfers: batch } })).ok).toBe(true);
    }
    await until(() => leader.stats.snapshotChunksReused > 0 && (snapshots.get(leader.cluster().nodeId) ?? []).length >= 3, 'snapshots reusing chunks', 30_000);
    for (const snapshot of snapshots.get(leader.cluster().nodeId)!) {
      const ledger = decodeNodeSnapshot(snapshot.data).ledger;
      // A chunk size larger than the state: nothing is seeded or reused, every record is encoded.
      const fresh = decodeBinarySnapshot(ledger, { transferChunkRecords: Number.MAX_SAFE_INTEGER });
      expect(Buffer.from(encodeBinarySnapshot(fresh.beginSnapshotView())).equals(Buffer.from(ledger))).toBe(true);
    }
  }, 60_000);

  it('without a publisher the log is compacted up to the snapshot and /v1/cluster says publishing is off', async () => {
    cluster = startInMemoryCluster(['1', '2', '3'], 14, { limits: { snapshotEveryEntries: 16 } });
    const leader = await cluster.waitForLeader();
    await openAccounts(leader);
    await transfers(leader, 'a', 30);
    await until(() => leader.eventSource.firstReadableSeq() > 1, 'compaction');
    expect(leader.cluster().publisher.state).toBe('off');
    expect(leader.cluster().publishedSeq).toBe(0);
    expect(leader.publishing).toBe(false);
  });
});
