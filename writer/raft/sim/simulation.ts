// Deterministic simulation of a Raft cluster (TigerBeetle VOPR / FoundationDB style): one seed
// drives a fake network (delay, drop, duplication, reordering, symmetric, asymmetric and
// leader-isolating partitions), fake disks (unsynced writes lost, torn tails), a fake clock,
// crashes and restarts, membership changes and leadership transfers, and a key-value client
// workload whose history is checked for linearizability. Safety is checked after every step; a
// liveness phase (faults healed) must commit new entries within a bound.

import { checkLinearizability, type Operation } from '../../../common/linearizability/checker.ts';
import { kvRegisterModel, type KvInput, type KvOutput } from '../../../common/linearizability/models/kv-register.ts';
import type { RaftStart } from '../config.ts';
import type { InjectedBugs } from '../injected-bugs.ts';
import type { Message, MessageType } from '../message.ts';
import { RaftNode } from '../raft-node.ts';
import type { Ready } from '../ready.ts';
import { EventQueue } from './event-queue.ts';
import { decodeKvSnapshot, decodePut, encodeKvSnapshot, encodePut, workloadKeys } from './kv-workload.ts';
import { Prng } from './prng.ts';
import { SafetyChecker, type Violation } from './safety-checker.ts';
import { SimulatedDisk } from './simulated-disk.ts';
import { TraceHash } from './trace-hash.ts';

export interface SimulationOptions {
  readonly seed: number;
  readonly nodeCount: 3 | 5;
  readonly bugs?: Partial<InjectedBugs>;
  /** Time units of the safety phase (faults on). */
  readonly safetyTime?: number;
  /** Bound on the liveness phase: faults healed, a new entry must commit everywhere by then. */
  readonly livenessTimeMax?: number;
  readonly linearizabilityTimeoutMs?: number;
}

export interface SimulationStats {
  events: number;
  messagesDelivered: number;
  crashes: number;
  elections: number;
  membershipChanges: number;
  snapshotsSent: number;
  committedIndex: number;
  operations: number;
  linearizability: 'ok' | 'illegal' | 'unknown' | 'not_checked';
  livenessTime: number;
}

export interface SimulationResult {
  readonly seed: number;
  readonly nodeCount: 3 | 5;
  readonly traceHash: string;
  readonly violations: readonly Violation[];
  readonly stats: SimulationStats;
}

const tickTime = 10;
const safetyTimeDefault = 12_000;
const livenessTimeMaxDefault = 6_000;
const eventsMax = 3_000_000;
const eventQueueSizeMax = 1_000_000;
const clientCount = 3;
const operationTimeout = 600;
const clientPollTime = 5;
const compactionEntriesMin = 20;
const messageTypeCodes: Record<MessageType, number> = {
  pre_vote_request: 1, vote_request: 2, pre_vote_response: 3, vote_response: 4, append_entries: 5,
  append_response: 6, heartbeat: 7, heartbeat_response: 8, install_snapshot: 9, install_snapshot_response: 10, timeout_now: 11,
};

type SimulationEvent =
  | { type: 'tick'; node: number }
  | { type: 'deliver'; message: Message }
  | { type: 'synced'; node: number; incarnation: number }
  | { type: 'nemesis' }
  | { type: 'client'; client: number }
  | { type: 'heal' }
  | { type: 'restart'; node: number }
  | { type: 'unreachable'; node: number; peer: string }
  | { type: 'liveness_probe' };

interface SimulatedNode {
  readonly id: string;
  readonly index: number;
  readonly disk: SimulatedDisk;
  raft: RaftNode | undefined;
  incarnation: number;
  kv: Map<string, string>;
  applied: number;
  snapshotIndex: number;
  inflight: Ready | undefined;
  /** The shell's persisted "joined with an empty disk, not yet promoted" marker. */
  joinPending: boolean;
  joinFloor: number | undefined;
}

type PendingOperation =
  | { kind: 'put'; node: number; incarnation: number; index: number; term: number; key: string; value: string; call: number }
  | { kind: 'get'; node: number; incarnation: number; barrierId: number; key: string; call: number };

interface Client {
  readonly id: number;
  leaderHint: number;
  pending: PendingOperation | undefined;
  operations: number;
}

interface CoreSettings {
  readonly electionTicksMax: number;
  readonly entriesPerMessageMax: number;
  readonly bytesPerMessageMax: number;
  readonly inflightMessagesMax: number;
  readonly snapshotChunkBytesMax: number;
}

export class Simulation {
  readonly #options: SimulationOptions;
  readonly #prng: Prng;
  readonly #queue = new EventQueue<SimulationEvent>(eventQueueSizeMax);
  readonly #trace = new TraceHash();
  readonly #checker = new SafetyChecker();
  readonly #nodes: SimulatedNode[] = [];
  readonly #clients: Client[] = [];
  readonly #history: Operation<KvInput, KvOutput>[] = [];
  readonly #settings: CoreSettings;
  readonly #stats: SimulationStats = {
    events: 0, messagesDelivered: 0, crashes: 0, elections: 0, membershipChanges: 0, snapshotsSent: 0,
    committedIndex: 0, operations: 0, linearizability: 'not_checked', livenessTime: 0,
  };
  #bootstrapVoters: readonly string[] = [];
  #now = 0;
  #healed = false;
  #blockedLinks = new Set<string>();
  #dropProbability = 0;
  #duplicateProbability = 0;
  #delayMax = 10;
  #livenessMarker: { index: number; term: number } | undefined;
  #livenessDone = false;
  /** Buggify: crash a node right after it persisted a vote and sent its replies. */
  readonly #crashAfterVoteProbability: number;
  /** Buggify: isolate a leader right after it was elected, or right after its commit advanced. */
  readonly #isolateNewLeaderProbability: number;
  readonly #isolateAfterCommitProbability: number;

  constructor(options: SimulationOptions) {
    this.#options = options;
    this.#prng = new Prng(options.seed);
    const prng = this.#prng;
    this.#settings = {
      electionTicksMax: prng.pick([10, 11, 13, 20]),
      entriesPerMessageMax: prng.pick([1, 1, 2, 3, 8, 64]),
      bytesPerMessageMax: prng.pick([64, 256, 1 << 20]),
      inflightMessagesMax: prng.pick([1, 2, 4, 16]),
      snapshotChunkBytesMax: prng.pick([8, 32, 4096]),
    };
    this.#crashAfterVoteProbability = prng.pick([0.05, 0.2, 0.5]);
    this.#isolateNewLeaderProbability = prng.pick([0.05, 0.2, 0.4]);
    this.#isolateAfterCommitProbability = prng.pick([0.02, 0.1, 0.3]);
    const ids = Array.from({ length: options.nodeCount }, (_, i) => `n${i + 1}`);
    const joiners = options.nodeCount === 5 && prng.chance(0.5) ? 2 : 0;
    const voters = ids.slice(0, ids.length - joiners);
    this.#bootstrapVoters = voters;
    for (let index = 0; index < ids.length; index++) {
      const node: SimulatedNode = {
        id: ids[index]!, index, disk: new SimulatedDisk(), raft: undefined, incarnation: 0,
        kv: new Map(), applied: 0, snapshotIndex: 0, inflight: undefined, joinPending: index >= voters.length, joinFloor: undefined,
      };
      this.#nodes.push(node);
      const start: RaftStart = node.joinPending
        ? { type: 'join', data: {} }
        : { type: 'bootstrap', data: { voters } };
      node.raft = this.#createRaft(node, start);
      this.#schedule(prng.between(1, tickTime), { type: 'tick', node: index });
    }
    for (let id = 0; id < clientCount; id++) {
      this.#clients.push({ id, leaderHint: prng.below(ids.length), pending: undefined, operations: 0 });
      this.#schedule(prng.between(50, 150), { type: 'client', client: id });
    }
    this.#schedule(prng.between(100, 300), { type: 'nemesis' });
    this.#schedule(options.safetyTime ?? safetyTimeDefault, { type: 'heal' });
  }

  run(): SimulationResult {
    const endTime = (this.#options.safetyTime ?? safetyTimeDefault) + (this.#options.livenessTimeMax ?? livenessTimeMaxDefault);
    try {
      for (;;) {
        if (this.#checker.violations.length > 0 || this.#livenessDone) break;
        const next = this.#queue.pop();
        if (next === undefined || next.time > endTime) break;
        if (this.#stats.events >= eventsMax) {
          this.#checker.report('liveness', this.#now, `event budget ${eventsMax} exhausted`);
          break;
        }
        this.#now = next.time;
        this.#stats.events++;
        this.#handle(next.event);
      }
      if (this.#checker.violations.length === 0 && !this.#livenessDone) {
        this.#checker.report('liveness', this.#now, `no new entry committed on every voter within ${this.#options.livenessTimeMax ?? livenessTimeMaxDefault} time units after healing\n${this.#describeNodes()}`);
      }
      if (this.#checker.violations.length === 0) this.#checkHistory();
    } catch (error) {
      this.#checker.report('assertion', this.#now, error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error));
    }
    this.#stats.committedIndex = this.#checker.committedMax;
    this.#stats.operations = this.#history.length;
    return {
      seed: this.#options.seed,
      nodeCount: this.#options.nodeCount,
      traceHash: this.#trace.digest(),
      violations: this.#checker.violations,
      stats: this.#stats,
    };
  }

  #describeNodes(): string {
    return this.#nodes.map((node) => {
      if (node.raft === undefined) return `${node.id}: down`;
      const status = node.raft.status();
      return `${node.id}: ${status.role} term ${status.term} leader ${status.leaderId} commit ${status.commitIndex} ` +
        `applied ${status.appliedIndex} log [${status.firstIndex}, ${status.lastIndex}] voters ${status.membership.voters.join(',')} ` +
        `learners ${status.membership.learners.join(',')}${status.votingBlocked ? ' voting blocked' : ''}`;
    }).join('\n');
  }

  // ───────────────────────────── events ─────────────────────────────

  #schedule(delay: number, event: SimulationEvent): void {
    this.#queue.push(this.#now + delay, event);
  }

  #handle(event: SimulationEvent): void {
    const trace = this.#trace;
    trace.addNumber(this.#now);
    switch (event.type) {
      case 'tick': {
        trace.addNumber(100 + event.node);
        const node = this.#nodes[event.node]!;
        this.#schedule(tickTime, event);
        if (node.raft === undefined) return;
        node.raft.tick();
        this.#afterInput(node);
        return;
      }
      case 'deliver': {
        const message = event.message;
        trace.addNumber(messageTypeCodes[message.type]);
        trace.addString(message.from);
        trace.addString(message.to);
        trace.addNumber(message.term);
        const node = this.#nodeById(message.to);
        if (node.raft === undefined || this.#blockedLinks.has(`${message.from}>${message.to}`)) return;
        this.#stats.messagesDelivered++;
        node.raft.step(message);
        this.#afterInput(node);
        return;
      }
      case 'synced': {
        trace.addNumber(200 + event.node);
        const node = this.#nodes[event.node]!;
        if (node.incarnation !== event.incarnation) return;
        this.#completeReady(node);
        return;
      }
      case 'nemesis':
        trace.addNumber(300);
        if (this.#healed) return;
        this.#nemesis();
        this.#schedule(this.#prng.between(30, 300), event);
        return;
      case 'client':
        trace.addNumber(400 + event.client);
        this.#clientStep(this.#clients[event.client]!);
        return;
      case 'restart': {
        trace.addNumber(700 + event.node);
        const node = this.#nodes[event.node]!;
        if (node.raft === undefined) this.#restart(node);
        return;
      }
      case 'unreachable': {
        trace.addNumber(800 + event.node);
        trace.addString(event.peer);
        const node = this.#nodes[event.node]!;
        if (node.raft === undefined) return;
        node.raft.peerUnreachable(event.peer);
        this.#afterInput(node);
        return;
      }
      case 'heal':
        trace.addNumber(500);
        this.#heal();
        return;
      case 'liveness_probe':
        trace.addNumber(600);
        this.#livenessProbe();
        return;
      default: {
        const _exhaustive: never = event;
        return _exhaustive;
      }
    }
  }

  #nodeById(id: string): SimulatedNode {
    const node = this.#nodes[Number(id.slice(1)) - 1];
    if (node === undefined || node.id !== id) throw new Error(`unknown node ${id}`);
    return node;
  }

  #createRaft(node: SimulatedNode, start: RaftStart): RaftNode {
    const random = this.#prng.fork();
    return new RaftNode({
      id: node.id,
      start,
      electionTicksMin: 10,
      heartbeatTicks: 3,
      ...this.#settings,
      random: () => random.float(),
      bugs: this.#options.bugs,
    });
  }

  // ───────────────────────────── the shell: Ready handling ─────────────────────────────

  #afterInput(node: SimulatedNode): void {
    const raft = node.raft!;
    this.#checker.observeNode(raft, node.incarnation, this.#now);
    if (node.inflight !== undefined) return;
    const ready = raft.ready();
    if (ready === undefined) return;
    this.#checker.observeNode(raft, node.incarnation, this.#now);
    this.#checker.observeAppended(raft, ready.entries, this.#now);
    if (ready.softState?.role === 'leader') this.#stats.elections++;
    node.inflight = ready;
    node.disk.stage(ready);
    const writes = ready.entries.length > 0 || ready.hardState !== undefined || ready.snapshot !== undefined;
    this.#schedule(writes ? this.#prng.between(1, 8) : 0, { type: 'synced', node: node.index, incarnation: node.incarnation });
  }

  #completeReady(node: SimulatedNode): void {
    const raft = node.raft!;
    const ready = node.inflight!;
    const durableBefore = node.disk.durableCommit;
    node.disk.sync();
    if (ready.votingUnblocked) node.joinPending = false;
    if (ready.joinFloor !== undefined) node.joinFloor = ready.joinFloor;
    this.#checker.observeDurableCommit(node.id, durableBefore, node.disk.durableCommit, this.#now);
    if (!this.#healed && ready.softState?.role === 'leader' && this.#prng.chance(this.#isolateNewLeaderProbability)) {
      this.#isolate(node);
    }
    if (!this.#healed && raft.status().role === 'leader' && ready.hardState !== undefined &&
      ready.hardState.commit > durableBefore && ready.hardState.commit < raft.status().lastIndex &&
      this.#prng.chance(this.#isolateAfterCommitProbability)) {
      this.#isolate(node);
    }
    for (const message of ready.messages) this.#send(message);
    if (!this.#healed && ready.messages.some((message) => message.type === 'vote_response' && message.granted) &&
      this.#prng.chance(this.#crashAfterVoteProbability)) {
      this.#crash(node);
      this.#schedule(this.#prng.between(1, 10), { type: 'restart', node: node.index });
      return;
    }
    if (ready.snapshot !== undefined) {
      node.kv = decodeKvSnapshot(ready.snapshot.data);
      node.applied = ready.snapshot.metadata.index;
      node.snapshotIndex = ready.snapshot.metadata.index;
    }
    this.#checker.observeApplied(node.id, ready.committedEntries, this.#now);
    for (const entry of ready.committedEntries) {
      if (entry.kind === 'normal') {
        const { key, value } = decodePut(entry.data);
        node.kv.set(key, value);
      }
      node.applied = entry.index;
      this.#onApplied(node, entry.index, entry.term);
    }
    for (const resolution of ready.barriersResolved) {
      for (const barrierId of resolution.barrierIds) this.#onBarrierResolved(node, barrierId);
    }
    for (const barrierId of ready.barriersFailed) this.#onBarrierFailed(node, barrierId);
    node.inflight = undefined;
    raft.advance(ready);
    this.#maybeCompact(node);
    this.#afterInput(node);
  }

  #maybeCompact(node: SimulatedNode): void {
    if (node.applied - node.snapshotIndex < compactionEntriesMin || !this.#prng.chance(0.3)) return;
    const raft = node.raft!;
    const floor = Math.max(0, node.applied - this.#prng.between(0, 30));
    const snapshot = raft.compact(node.applied, encodeKvSnapshot(node.kv), floor);
    node.disk.writeApplicationSnapshot(snapshot);
    node.snapshotIndex = node.applied;
  }

  #send(message: Message): void {
    if (message.type === 'install_snapshot') this.#stats.snapshotsSent++;
    if (this.#blockedLinks.has(`${message.from}>${message.to}`)) return;
    const prng = this.#prng;
    if (prng.chance(this.#dropProbability)) return;
    const copies = prng.chance(this.#duplicateProbability) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) this.#schedule(prng.between(1, this.#delayMax), { type: 'deliver', message });
  }

  // ───────────────────────────── faults ─────────────────────────────

  #nemesis(): void {
    const prng = this.#prng;
    const action = prng.below(12);
    switch (action) {
      case 0: { // symmetric partition into two sides
        this.#blockedLinks.clear();
        const side = this.#nodes.map(() => prng.chance(0.5));
        for (const a of this.#nodes) {
          for (const b of this.#nodes) if (side[a.index] !== side[b.index]) this.#blockedLinks.add(`${a.id}>${b.id}`);
        }
        this.#hintBlockedLinks();
        return;
      }
      case 1: { // asymmetric: some directed links fail
        this.#blockedLinks.clear();
        for (const a of this.#nodes) {
          for (const b of this.#nodes) if (a !== b && prng.chance(0.25)) this.#blockedLinks.add(`${a.id}>${b.id}`);
        }
        this.#hintBlockedLinks();
        return;
      }
      case 2: { // isolate the leader (both directions, or only its outgoing or incoming links)
        const leader = this.#currentLeader();
        if (leader === undefined) return;
        const mode = prng.below(3);
        for (const other of this.#nodes) {
          if (other === leader) continue;
          if (mode !== 1) this.#blockedLinks.add(`${leader.id}>${other.id}`);
          if (mode !== 2) this.#blockedLinks.add(`${other.id}>${leader.id}`);
        }
        this.#hintBlockedLinks();
        return;
      }
      case 3:
        this.#blockedLinks.clear();
        return;
      case 4: { // crash a live node (keep one alive)
        const live = this.#nodes.filter((node) => node.raft !== undefined);
        if (live.length <= 1) return;
        this.#crash(prng.pick(live));
        return;
      }
      case 5: {
        const down = this.#nodes.filter((node) => node.raft === undefined);
        if (down.length > 0) this.#restart(prng.pick(down));
        return;
      }
      case 6:
        this.#changeMembership();
        return;
      case 7: {
        const leader = this.#currentLeader();
        if (leader === undefined) return;
        const voters = leader.raft!.status().membership.voters.filter((id) => id !== leader.id);
        if (voters.length > 0) leader.raft!.transferLeadership(prng.pick(voters));
        this.#afterInput(leader);
        return;
      }
      case 8: { // bounce: crash a node and bring it back quickly (loses unsynced writes)
        const live = this.#nodes.filter((node) => node.raft !== undefined);
        if (live.length <= 1) return;
        const node = prng.pick(live);
        this.#crash(node);
        this.#schedule(prng.between(1, 40), { type: 'restart', node: node.index });
        return;
      }
      case 9: { // a wrong hint: a node is told a peer is unreachable although nothing cut it off
        const node = prng.pick(this.#nodes);
        const peer = prng.pick(this.#nodes.filter((other) => other !== node));
        this.#schedule(prng.between(0, 5), { type: 'unreachable', node: node.index, peer: peer.id });
        return;
      }
      default:
        this.#dropProbability = prng.pick([0, 0, 0.05, 0.2, 0.4]);
        this.#duplicateProbability = prng.pick([0, 0.05, 0.2]);
        this.#delayMax = prng.pick([5, 10, 30, 80]);
        return;
    }
  }

  #isolate(node: SimulatedNode): void {
    for (const other of this.#nodes) {
      if (other === node) continue;
      this.#blockedLinks.add(`${node.id}>${other.id}`);
      this.#blockedLinks.add(`${other.id}>${node.id}`);
    }
    this.#hintBlockedLinks();
  }

  /** A sender whose link is cut finds its redials failing: it gets the transport's hint about the receiver. */
  #hintBlockedLinks(): void {
    for (const link of this.#blockedLinks) {
      const [from, to] = link.split('>') as [string, string];
      const node = this.#nodeById(from);
      if (node.raft !== undefined) this.#schedule(this.#prng.between(1, 5), { type: 'unreachable', node: node.index, peer: to });
    }
  }

  #currentLeader(): SimulatedNode | undefined {
    let best: SimulatedNode | undefined;
    let bestTerm = -1;
    for (const node of this.#nodes) {
      const status = node.raft?.status();
      if (status?.role === 'leader' && status.term > bestTerm) {
        best = node;
        bestTerm = status.term;
      }
    }
    return best;
  }

  #changeMembership(): void {
    const leader = this.#currentLeader();
    if (leader === undefined) return;
    const raft = leader.raft!;
    const membership = raft.status().membership;
    const prng = this.#prng;
    const outside = this.#nodes.filter((node) => !membership.voters.includes(node.id) && !membership.learners.includes(node.id));
    let result;
    if (membership.learners.length > 0 && prng.chance(0.7)) {
      result = raft.proposeMembershipChange({ type: 'promote', data: { nodeId: prng.pick(membership.learners) } });
    } else if (outside.length > 0) {
      result = raft.proposeMembershipChange({ type: 'add_learner', data: { nodeId: prng.pick(outside).id } });
    } else if (membership.voters.length >= 3) {
      result = raft.proposeMembershipChange({ type: 'remove', data: { nodeId: prng.pick(membership.voters) } });
    }
    if (result?.ok === true) this.#stats.membershipChanges++;
    this.#afterInput(leader);
  }

  #crash(node: SimulatedNode): void {
    this.#stats.crashes++;
    const staged = node.disk.stagedEntries();
    node.disk.crash(this.#prng.chance(0.5) ? this.#prng.below(staged + 1) : 0);
    node.raft = undefined;
    node.inflight = undefined;
    node.incarnation++;
    // The peers' transports see the connection drop and a redial refused (RaftNode.peerUnreachable).
    for (const other of this.#nodes) {
      if (other !== node && other.raft !== undefined) this.#schedule(this.#prng.between(1, 5), { type: 'unreachable', node: other.index, peer: node.id });
    }
    for (const client of this.#clients) {
      const pending = client.pending;
      if (pending === undefined || pending.node !== node.index) continue;
      if (pending.kind === 'put') this.#recordPut(client, pending, undefined);
      client.pending = undefined;
    }
  }

  #restart(node: SimulatedNode): void {
    const persisted = node.disk.load();
    let start: RaftStart;
    if (node.joinPending) start = { type: 'join', data: { persisted, joinFloor: node.joinFloor } };
    else if (!node.disk.hasState) start = { type: 'bootstrap', data: { voters: this.#bootstrapVoters } };
    else start = { type: 'restore', data: persisted };
    node.raft = this.#createRaft(node, start);
    node.kv = persisted.snapshot === undefined ? new Map() : decodeKvSnapshot(persisted.snapshot.data);
    node.applied = persisted.snapshot?.metadata.index ?? 0;
    node.snapshotIndex = node.applied;
    this.#afterInput(node);
  }


  #heal(): void {
    this.#healed = true;
    this.#blockedLinks.clear();
    this.#dropProbability = 0;
    this.#duplicateProbability = 0;
    this.#delayMax = 10;
    for (const node of this.#nodes) if (node.raft === undefined) this.#restart(node);
    this.#livenessProbe();
  }

  // ───────────────────────────── liveness ─────────────────────────────

  #livenessProbe(): void {
    const leader = this.#currentLeader();
    const marker = this.#livenessMarker;
    if (marker !== undefined && leader !== undefined) {
      const voters = leader.raft!.status().membership.voters;
      const everywhere = voters.every((id) => {
        const node = this.#nodeById(id);
        return node.raft !== undefined && node.applied >= marker.index && node.raft.status().commitIndex >= marker.index;
      });
      if (everywhere && leader.raft!.termAt(marker.index) === marker.term) {
        this.#livenessDone = true;
        this.#stats.livenessTime = this.#now - (this.#options.safetyTime ?? safetyTimeDefault);
        return;
      }
    }
    if (leader !== undefined && (marker === undefined || leader.raft!.termAt(marker.index) !== marker.term)) {
      const proposed = leader.raft!.propose([encodePut('live', `t${this.#now}`)]);
      if (proposed.ok) this.#livenessMarker = { index: proposed.lastIndex, term: proposed.term };
      this.#afterInput(leader);
    }
    this.#schedule(50, { type: 'liveness_probe' });
  }

  // ───────────────────────────── clients ─────────────────────────────

  #clientStep(client: Client): void {
    const prng = this.#prng;
    const pending = client.pending;
    if (pending !== undefined) {
      if (this.#now - pending.call >= operationTimeout) {
        if (pending.kind === 'put') this.#recordPut(client, pending, undefined);
        client.pending = undefined;
      } else {
        this.#schedule(clientPollTime, { type: 'client', client: client.id });
        return;
      }
    }
    const node = this.#nodes[client.leaderHint]!;
    const raft = node.raft;
    if (raft === undefined) {
      client.leaderHint = prng.below(this.#nodes.length);
      this.#schedule(prng.between(5, 20), { type: 'client', client: client.id });
      return;
    }
    const key = prng.pick(workloadKeys);
    if (prng.chance(0.5)) {
      client.operations++;
      const value = `c${client.id}-${client.operations}`;
      const result = raft.propose([encodePut(key, value)]);
      if (result.ok) {
        client.pending = { kind: 'put', node: node.index, incarnation: node.incarnation, index: result.lastIndex, term: result.term, key, value, call: this.#now };
      } else {
        this.#redirect(client, result.error.code === 'not_leader' ? result.error.leaderId : null);
      }
    } else {
      const result = raft.barrier();
      if (result.ok) {
        client.pending = { kind: 'get', node: node.index, incarnation: node.incarnation, barrierId: result.barrierId, key, call: this.#now };
      } else {
        this.#redirect(client, result.error.leaderId);
      }
    }
    this.#afterInput(node);
    this.#schedule(client.pending === undefined ? prng.between(5, 20) : clientPollTime, { type: 'client', client: client.id });
  }

  #redirect(client: Client, leaderId: string | null): void {
    client.leaderHint = leaderId === null ? this.#prng.below(this.#nodes.length) : this.#nodeById(leaderId).index;
  }

  #recordPut(client: Client, pending: PendingOperation & { kind: 'put' }, output: KvOutput | undefined): void {
    this.#history.push({
      clientId: client.id,
      input: { op: 'put', key: pending.key, value: pending.value },
      output,
      call: pending.call,
      return: output === undefined ? Infinity : this.#now,
    });
  }

  #onApplied(node: SimulatedNode, index: number, term: number): void {
    for (const client of this.#clients) {
      const pending = client.pending;
      if (pending?.kind !== 'put' || pending.node !== node.index || pending.index !== index) continue;
      if (pending.term === term) this.#recordPut(client, pending, { ok: true });
      // Otherwise another entry took its index: this put never takes effect.
      client.pending = undefined;
    }
  }

  #onBarrierResolved(node: SimulatedNode, barrierId: number): void {
    for (const client of this.#clients) {
      const pending = client.pending;
      if (pending?.kind !== 'get' || pending.node !== node.index || pending.barrierId !== barrierId || pending.incarnation !== node.incarnation) continue;
      this.#history.push({
        clientId: client.id,
        input: { op: 'get', key: pending.key },
        output: { value: node.kv.get(pending.key) ?? null },
        call: pending.call,
        return: this.#now,
      });
      client.pending = undefined;
    }
  }

  #onBarrierFailed(node: SimulatedNode, barrierId: number): void {
    for (const client of this.#clients) {
      const pending = client.pending;
      if (pending?.kind === 'get' && pending.node === node.index && pending.barrierId === barrierId && pending.incarnation === node.incarnation) {
        client.pending = undefined;
      }
    }
  }

  #checkHistory(): void {
    for (const client of this.#clients) {
      if (client.pending?.kind === 'put') this.#recordPut(client, client.pending, undefined);
      client.pending = undefined;
    }
    const result = checkLinearizability(kvRegisterModel, this.#history, { timeoutMs: this.#options.linearizabilityTimeoutMs ?? 10_000 });
    this.#stats.linearizability = result.outcome;
    if (result.outcome === 'illegal') this.#checker.report('linearizability', this.#now, result.explanation);
  }
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run();
}
