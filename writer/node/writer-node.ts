/**
 * The imperative shell around the two pure cores of a writer node: the Raft state machine
 * (writer/raft) and the ledger Decider (writer/ledger). It owns the timers, drives the
 * Ready/Advance loop (persist → send → apply → answer), keeps the committed ledger state that
 * every node builds by applying committed events, and — on the leader — the speculative state
 * that commands are decided against before their events commit (DESIGN.md §2–§4).
 *
 * Only the leader decides and answers. Every answer waits until the entry holding the command's
 * events is committed AND applied here, so an acknowledged write is durable on a majority and
 * its `position.seq` is final. A leader that loses leadership fails its waiting requests with
 * `leadership_changed` (outcome unknown: retry with the same ids, which idempotency makes safe).
 */
import assert from 'node:assert/strict';
import { decideAndEvolve } from '../ledger/decide.ts';
import {
  CommittedLedgerState, createSpeculativeState, decodeSnapshot, encodeSnapshot, evolve, initialState, nextExpiryDue, stateDigest,
  type AccountInput, type ItemResult, type LedgerEvent, type SpeculativeLedgerState, type TransferInput,
} from '../ledger/index.ts';
import type { Logger } from '../../common/logger.ts';
import type { Entry } from '../raft/entry.ts';
import type { Message, Snapshot } from '../raft/message.ts';
import { RaftNode } from '../raft/raft-node.ts';
import type { MembershipChange } from '../raft/membership.ts';
import type { RaftNodeConfig } from '../raft/config.ts';
import type { Ready, RaftRole } from '../raft/ready.ts';
import { decodeCommandRecord, encodeCommandRecord } from './command-record.ts';
import { SeqIndex } from './seq-index.ts';

export interface NodeStorage {
  /**
   * Durably persists what the Ready asks for (one fsync); resolves only when it is on disk. The
   * event loop keeps running meanwhile, so requests arriving during the fsync join the next Ready.
   */
  persistAsync(ready: Ready): Promise<void>;
  /** Durably stores the node's own snapshot (from compact()) before the log is compacted. */
  saveSnapshot(snapshot: Snapshot): void;
  close(): void;
}

export interface NodeTransport {
  send(messages: readonly Message[]): void;
}

export interface WriterNodeLimits {
  readonly tickMs: number;
  /** How long a request waits for its entry to commit before answering 503 (outcome unknown). */
  readonly commitWaitMsMax: number;
  /** Requests waiting for commit at once; more are refused with 503 (back-pressure). */
  readonly pendingRequestsMax: number;
  /** Take a snapshot and compact the log after this many applied entries. */
  readonly snapshotEveryEntries: number;
  /** Rebase the speculative overlay when it holds more records than this. */
  readonly speculativeRecordsMax: number;
  readonly expiryCheckMs: number;
}

export const writerNodeLimitsDefault: WriterNodeLimits = {
  tickMs: 10,
  commitWaitMsMax: 10_000,
  pendingRequestsMax: 4_096,
  snapshotEveryEntries: 20_000,
  speculativeRecordsMax: 200_000,
  expiryCheckMs: 100,
};

/** Longest stretch of Ready processing before the loop yields to timers and sockets. */
export const drainSliceMsMax = 20;

export type WriteCommand =
  | { readonly type: 'CreateAccounts'; readonly data: { readonly accounts: readonly AccountInput[] } }
  | { readonly type: 'CreateTransfers'; readonly data: { readonly transfers: readonly TransferInput[] } };

export interface Position {
  readonly shard: number;
  readonly seq: number;
}

export type NodeError =
  | { readonly code: 'not_leader'; readonly leaderId: string | null }
  | { readonly code: 'leadership_changed'; readonly leaderId: string | null }
  | { readonly code: 'commit_timeout' }
  | { readonly code: 'overloaded' }
  | { readonly code: 'stopped' }
  | { readonly code: 'rejected'; readonly reason: string; readonly message: string };

export type NodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: NodeError };

export interface WriteOutcome {
  readonly results: readonly ItemResult[];
  readonly position: Position;
}

export interface ClusterView {
  readonly nodeId: string;
  readonly shard: number;
  readonly role: RaftRole;
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly lastSeq: number;
  readonly publishedSeq: number | null;
  readonly votingBlocked: boolean;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly stateDigest?: string;
}

interface Waiter {
  readonly index: number;
  readonly term: number;
  readonly results: readonly ItemResult[];
  readonly settle: (result: NodeResult<WriteOutcome>) => void;
  readonly timer: NodeJS.Timeout;
}

export interface WriterNodeOptions {
  readonly nodeId: string;
  readonly shard: number;
  readonly raft: RaftNodeConfig;
  readonly storage: NodeStorage;
  readonly transport: NodeTransport;
  readonly log: Logger;
  readonly limits?: Partial<WriterNodeLimits>;
  readonly clock?: () => number;
  readonly idGenerator: () => string;
  readonly onLeaderChange?: (leaderId: string | null, role: RaftRole, term: number) => void;
  /** The node appended its own promotion: a `join`ed node may vote from now on (persist that). */
  readonly onVotingUnblocked?: () => void;
  /** A joining node learned its join floor; persist it and pass it back on `join` restarts. */
  readonly onJoinFloor?: (joinFloor: number) => void;
}

export class WriterNode {
  readonly #nodeId: string;
  readonly #shard: number;
  readonly #raft: RaftNode;
  readonly #storage: NodeStorage;
  readonly #transport: NodeTransport;
  readonly #log: Logger;
  readonly #limits: WriterNodeLimits;
  readonly #clock: () => number;
  readonly #newId: () => string;
  readonly #onLeaderChange: WriterNodeOptions['onLeaderChange'];
  readonly #onVotingUnblocked: WriterNodeOptions['onVotingUnblocked'];
  readonly #onJoinFloor: WriterNodeOptions['onJoinFloor'];
  #committed: CommittedLedgerState = initialState();
  #speculative: SpeculativeLedgerState | undefined;
  /** Highest log index whose events the speculative state includes. */
  #speculativeIndex = 0;
  #appliedIndex = 0;
  #entriesSinceSnapshot = 0;
  readonly #seqIndex = new SeqIndex();
  readonly #waiters = new Map<number, Waiter[]>();
  /** Decided on the speculative state, not yet proposed (the drain loop proposes them together). */
  #outbox: { readonly payload: Uint8Array | undefined; readonly results: readonly ItemResult[]; readonly settle: (result: NodeResult<WriteOutcome>) => void }[] = [];
  #waiterCount = 0;
  readonly #barriers = new Map<number, (result: NodeResult<Position>) => void>();
  #role: RaftRole = 'follower';
  #term = 0;
  #leaderId: string | null = null;
  #drainScheduled = false;
  #draining = false;
  #drained: (() => void) | undefined;
  #stopped = false;
  #expiryInFlight = false;
  #tickTimer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  readonly #leaderListeners = new Set<() => void>();
  readonly stats = { readies: 0, persistedEntries: 0, appliedEntries: 0, appliedEvents: 0, proposals: 0, snapshots: 0 };

  constructor(options: WriterNodeOptions) {
    this.#nodeId = options.nodeId;
    this.#shard = options.shard;
    this.#storage = options.storage;
    this.#transport = options.transport;
    this.#log = options.log;
    this.#limits = { ...writerNodeLimitsDefault, ...options.limits };
    this.#clock = options.clock ?? Date.now;
    this.#newId = options.idGenerator;
    this.#onLeaderChange = options.onLeaderChange;
    this.#onVotingUnblocked = options.onVotingUnblocked;
    this.#onJoinFloor = options.onJoinFloor;
    const start = options.raft.start;
    const persisted = start.type === 'restore' ? start.data : start.type === 'join' ? start.data.persisted : undefined;
    if (persisted?.snapshot !== undefined) {
      this.#committed = decodeSnapshot(persisted.snapshot.data);
      this.#appliedIndex = persisted.snapshot.metadata.index;
      this.#seqIndex.record(this.#appliedIndex, this.#committed.lastSeq);
    }
    this.#raft = new RaftNode(persisted?.snapshot !== undefined && start.type === 'restore'
      ? { ...options.raft, start: { type: 'restore', data: { ...persisted, appliedIndex: this.#appliedIndex } } }
      : options.raft);
  }

  start(): void {
    this.#tickTimer = setInterval(() => {
      this.#raft.tick();
      this.#scheduleDrain();
    }, this.#limits.tickMs);
    this.#expiryTimer = setInterval(() => this.#maybeExpire(), this.#limits.expiryCheckMs);
    this.#scheduleDrain();
  }

  /** Stops timers, fails waiting requests, and closes the storage once no persist is in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#tickTimer);
    clearInterval(this.#expiryTimer);
    this.#failAllWaiters({ code: 'stopped' });
    if (this.#draining) await new Promise<void>((resolve) => (this.#drained = resolve));
    this.#storage.close();
  }

  /** A message from a peer (the transport calls this). */
  receive(message: Message): void {
    if (this.#stopped) return;
    this.#raft.step(message);
    this.#scheduleDrain();
  }

  get leaderId(): string | null {
    return this.#leaderId;
  }

  get isLeader(): boolean {
    return this.#role === 'leader';
  }

  /** Resolves when the leader changes (or after `timeoutMs`); for requests waiting out an election. */
  waitForLeaderChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#leaderListeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#leaderListeners.add(done);
    });
  }

  /** Decide a client command on the leader, append its events, answer once they are applied. */
  submit(command: WriteCommand): Promise<NodeResult<WriteOutcome>> {
    if (this.#stopped) return Promise.resolve({ ok: false, error: { code: 'stopped' } });
    if (this.#role !== 'leader' || this.#speculative === undefined) {
      return Promise.resolve({ ok: false, error: { code: 'not_leader', leaderId: this.#leaderId } });
    }
    if (this.#waiterCount + this.#outbox.length >= this.#limits.pendingRequestsMax) return Promise.resolve({ ok: false, error: { code: 'overloaded' } });
    const now = this.#clock();
    const commandId = this.#newId();
    const outcome = decideAndEvolve({ ...command, metadata: { now, commandId } }, this.#speculative);
    if (outcome.type === 'rejected') {
      return Promise.resolve({ ok: false, error: { code: 'rejected', reason: outcome.rejection.code, message: outcome.rejection.message } });
    }
    return this.#appendAndWait(commandId, now, outcome.events, outcome.results);
  }

  /** Single-server membership change (Raft thesis §4.1), answered once committed and applied here. */
  changeMembership(change: MembershipChange): Promise<NodeResult<WriteOutcome>> {
    if (this.#stopped) return Promise.resolve({ ok: false, error: { code: 'stopped' } });
    const proposed = this.#raft.proposeMembershipChange(change);
    if (!proposed.ok) {
      if (proposed.error.code === 'not_leader') return Promise.resolve({ ok: false, error: { code: 'not_leader', leaderId: this.#leaderId } });
      return Promise.resolve({ ok: false, error: { code: 'rejected', reason: proposed.error.code, message: `membership change refused: ${JSON.stringify(proposed.error)}` } });
    }
    this.#speculativeIndex = Math.max(this.#speculativeIndex, proposed.index);
    this.#scheduleDrain();
    return this.#waitForIndex(proposed.index, proposed.term, []);
  }

  /** Hands leadership to `to` (Raft thesis §3.10); resolves when the transfer was started. */
  transferLeadership(to: string): NodeResult<{ readonly to: string }> {
    const result = this.#raft.transferLeadership(to);
    this.#scheduleDrain();
    if (result.ok) return { ok: true, value: { to } };
    if (result.error.code === 'not_leader') return { ok: false, error: { code: 'not_leader', leaderId: this.#leaderId } };
    return { ok: false, error: { code: 'rejected', reason: result.error.code, message: `leadership transfer refused: ${JSON.stringify(result.error)}` } };
  }

  /** A no-op through the log; answers the seq of the last event at or before it once applied. */
  barrier(): Promise<NodeResult<Position>> {
    if (this.#stopped) return Promise.resolve({ ok: false, error: { code: 'stopped' } });
    const result = this.#raft.barrier();
    if (!result.ok) return Promise.resolve({ ok: false, error: { code: 'not_leader', leaderId: this.#leaderId } });
    this.#scheduleDrain();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.#barriers.delete(result.barrierId)) resolve({ ok: false, error: { code: 'commit_timeout' } });
      }, this.#limits.commitWaitMsMax);
      this.#barriers.set(result.barrierId, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
    });
  }

  cluster(options: { digest?: boolean } = {}): ClusterView {
    const status = this.#raft.status();
    return {
      nodeId: this.#nodeId,
      shard: this.#shard,
      role: status.role,
      term: status.term,
      leaderId: status.leaderId,
      commitIndex: status.commitIndex,
      appliedIndex: this.#appliedIndex,
      lastIndex: status.lastIndex,
      lastSeq: this.#committed.lastSeq,
      publishedSeq: null,
      votingBlocked: status.votingBlocked,
      voters: status.membership.voters,
      learners: status.membership.learners,
      ...(options.digest ? { stateDigest: stateDigest(this.#committed) } : {}),
    };
  }

  get committedState(): CommittedLedgerState {
    return this.#committed;
  }

  /**
   * Queues a decided command; the drain loop proposes everything queued in one `propose()` (one
   * AppendEntries per follower for all of it) and registers each request's waiter at its index.
   * A command with no events waits for the last entry queued or proposed before it, because its
   * answer (e.g. `exists`) may rest on it.
   */
  #appendAndWait(commandId: string, now: number, events: readonly LedgerEvent[], results: readonly ItemResult[]): Promise<NodeResult<WriteOutcome>> {
    if (events.length === 0 && this.#outbox.length === 0 && this.#speculativeIndex <= this.#appliedIndex) {
      return Promise.resolve({ ok: true, value: { results, position: { shard: this.#shard, seq: this.#committed.lastSeq } } });
    }
    const payload = events.length > 0 ? encodeCommandRecord({ commandId, occurredAt: now, events }) : undefined;
    return new Promise((settle) => {
      this.#outbox.push({ payload, results, settle });
      this.#scheduleDrain();
    });
  }

  #flushOutbox(): void {
    if (this.#outbox.length === 0) return;
    const items = this.#outbox;
    this.#outbox = [];
    const payloads: Uint8Array[] = [];
    for (const item of items) if (item.payload !== undefined) payloads.push(item.payload);
    let nextIndex = 0;
    let proposedTerm = this.#term;
    if (payloads.length > 0) {
      const proposed = this.#raft.propose(payloads);
      if (!proposed.ok) {
        // Leadership was lost before these were appended; their effects are only in the discarded overlay.
        for (const item of items) item.settle({ ok: false, error: { code: 'leadership_changed', leaderId: this.#leaderId } });
        if (this.#role === 'leader') this.#resetSpeculative();
        return;
      }
      this.stats.proposals += payloads.length;
      nextIndex = proposed.firstIndex;
      proposedTerm = proposed.term;
    }
    let index = this.#speculativeIndex;
    let term = index === 0 ? 0 : (this.#raft.termAt(index) ?? this.#term);
    for (const item of items) {
      if (item.payload !== undefined) {
        index = nextIndex;
        nextIndex += 1;
        term = proposedTerm;
      }
      if (index <= this.#appliedIndex) item.settle({ ok: true, value: { results: item.results, position: { shard: this.#shard, seq: this.#committed.lastSeq } } });
      else this.#registerWaiter(index, term, item.results, item.settle);
    }
    this.#speculativeIndex = index;
  }

  #waitForIndex(index: number, term: number, results: readonly ItemResult[]): Promise<NodeResult<WriteOutcome>> {
    return new Promise((resolve) => this.#registerWaiter(index, term, results, resolve));
  }

  #registerWaiter(index: number, term: number, results: readonly ItemResult[], resolve: (result: NodeResult<WriteOutcome>) => void): void {
    const timer = setTimeout(() => {
      if (this.#removeWaiter(waiter)) resolve({ ok: false, error: { code: 'commit_timeout' } });
    }, this.#limits.commitWaitMsMax);
    const waiter: Waiter = { index, term, results, settle: resolve, timer };
    const list = this.#waiters.get(index);
    if (list) list.push(waiter);
    else this.#waiters.set(index, [waiter]);
    this.#waiterCount += 1;
  }

  #removeWaiter(waiter: Waiter): boolean {
    const list = this.#waiters.get(waiter.index);
    const at = list?.indexOf(waiter) ?? -1;
    if (list === undefined || at < 0) return false;
    list.splice(at, 1);
    if (list.length === 0) this.#waiters.delete(waiter.index);
    this.#waiterCount -= 1;
    return true;
  }

  #scheduleDrain(): void {
    // A running drain loop asks the core for the next Ready after each one, so it picks this up.
    if (this.#drainScheduled || this.#draining || this.#stopped) return;
    this.#drainScheduled = true;
    // setImmediate lets every request of this event-loop turn join one Ready: one fsync for all.
    setImmediate(() => {
      this.#drainScheduled = false;
      this.#drain().catch((error: unknown) => {
        // An I/O error while persisting: the only safe move is to crash and recover from disk.
        this.#log.fatal({ err: error }, 'persisting the Raft log failed; crashing');
        setImmediate(() => {
          throw error;
        });
      });
    });
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      await this.#drainLoop();
    } finally {
      this.#draining = false;
      this.#drained?.();
    }
  }

  async #drainLoop(): Promise<void> {
    let sliceStarted = performance.now();
    if (this.#role === 'leader') this.#flushOutbox();
    let ready = this.#raft.ready();
    while (ready !== undefined && !this.#stopped) {
      this.stats.readies += 1;
      await this.#storage.persistAsync(ready);
      if (this.#stopped) return;
      if (ready.joinFloor !== undefined) this.#onJoinFloor?.(ready.joinFloor);
      this.stats.persistedEntries += ready.entries.length;
      if (ready.messages.length > 0) this.#transport.send(ready.messages);
      if (ready.snapshot !== undefined) this.#restoreSnapshot(ready.snapshot.metadata.index, ready.snapshot.data);
      for (const entry of ready.committedEntries) this.#apply(entry);
      for (const resolution of ready.barriersResolved) {
        const position = { shard: this.#shard, seq: this.#seqIndex.seqAt(resolution.index, this.#committed.lastSeq) };
        for (const id of resolution.barrierIds) this.#barriers.get(id)?.({ ok: true, value: position });
        for (const id of resolution.barrierIds) this.#barriers.delete(id);
      }
      for (const id of ready.barriersFailed) {
        this.#barriers.get(id)?.({ ok: false, error: { code: 'leadership_changed', leaderId: this.#leaderId } });
        this.#barriers.delete(id);
      }
      if (ready.softState !== undefined) this.#onSoftState(ready.softState.role, ready.softState.leaderId, ready.softState.term);
      if (ready.votingUnblocked) this.#onVotingUnblocked?.();
      this.#raft.advance(ready);
      this.#maybeSnapshot();
      if (performance.now() - sliceStarted > drainSliceMsMax) {
        // Let timers (heartbeats, election ticks) and sockets run between long stretches of work,
        // so applying a backlog does not starve the heartbeats and cause needless elections.
        await new Promise((resolve) => setImmediate(resolve));
        sliceStarted = performance.now();
        if (this.#stopped) return;
      }
      if (this.#role === 'leader') this.#flushOutbox();
      ready = this.#raft.ready();
    }
  }

  #apply(entry: Entry): void {
    assert.equal(entry.index, this.#appliedIndex + 1, `applied out of order: ${entry.index} after ${this.#appliedIndex}`);
    if (entry.kind === 'normal') {
      const record = decodeCommandRecord(entry.data);
      for (const event of record.events) evolve(this.#committed, event);
      this.stats.appliedEvents += record.events.length;
    }
    this.#appliedIndex = entry.index;
    this.#entriesSinceSnapshot += 1;
    this.stats.appliedEntries += 1;
    this.#seqIndex.record(entry.index, this.#committed.lastSeq);
    const waiters = this.#waiters.get(entry.index);
    if (waiters !== undefined) {
      this.#waiters.delete(entry.index);
      this.#waiterCount -= waiters.length;
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        if (waiter.term === entry.term) {
          waiter.settle({ ok: true, value: { results: waiter.results, position: { shard: this.#shard, seq: this.#committed.lastSeq } } });
        } else {
          waiter.settle({ ok: false, error: { code: 'leadership_changed', leaderId: this.#leaderId } });
        }
      }
    }
    if (this.#speculative !== undefined && this.#outbox.length === 0 && this.#appliedIndex >= this.#speculativeIndex && this.#speculative.changedRecordCount > 0) {
      // Everything the overlay saw is now committed: start a fresh, empty one.
      this.#speculative = createSpeculativeState(this.#committed);
    }
  }

  #restoreSnapshot(index: number, data: Uint8Array): void {
    this.#committed = decodeSnapshot(data);
    this.#appliedIndex = index;
    this.#seqIndex.reset(index, this.#committed.lastSeq);
    this.#log.info({ index, lastSeq: this.#committed.lastSeq }, 'restored state from a snapshot sent by the leader');
  }

  #onSoftState(role: RaftRole, leaderId: string | null, term: number): void {
    const wasLeader = this.#role === 'leader';
    this.#role = role;
    this.#leaderId = leaderId;
    this.#term = term;
    if (wasLeader && role !== 'leader') {
      this.#speculative = undefined;
      this.#failAllWaiters({ code: 'leadership_changed', leaderId });
      this.#log.warn({ term, leaderId }, 'lost leadership');
    }
    if (role === 'leader' && !wasLeader) {
      this.#resetSpeculative();
      this.#log.info({ term, appliedIndex: this.#appliedIndex, lastIndex: this.#raft.status().lastIndex }, 'became leader');
    }
    this.#onLeaderChange?.(leaderId, role, term);
    for (const listener of [...this.#leaderListeners]) listener();
  }

  /** The leader's speculative state: committed state + every event in the log after it. */
  #resetSpeculative(): void {
    const status = this.#raft.status();
    const events: LedgerEvent[] = [];
    for (let index = this.#appliedIndex + 1; index <= status.lastIndex; index += 1) {
      const entry = this.#raft.entryAt(index);
      if (entry.kind === 'normal') events.push(...decodeCommandRecord(entry.data).events);
    }
    this.#speculative = createSpeculativeState(this.#committed, events);
    this.#speculativeIndex = status.lastIndex;
  }

  #failAllWaiters(error: NodeError): void {
    for (const item of this.#outbox) item.settle({ ok: false, error });
    this.#outbox = [];
    for (const list of this.#waiters.values()) {
      for (const waiter of list) {
        clearTimeout(waiter.timer);
        waiter.settle({ ok: false, error });
      }
    }
    this.#waiters.clear();
    this.#waiterCount = 0;
  }

  #maybeSnapshot(): void {
    if (this.#entriesSinceSnapshot < this.#limits.snapshotEveryEntries) return;
    this.#entriesSinceSnapshot = 0;
    const started = performance.now();
    const data = encodeSnapshot(this.#committed);
    // Until the Kafka publisher exists the floor is the snapshot itself; the publisher will lower it
    // to the published watermark (DESIGN.md §5).
    const snapshot = this.#raft.compact(this.#appliedIndex, data, this.#appliedIndex);
    this.#storage.saveSnapshot(snapshot);
    this.stats.snapshots += 1;
    this.#log.info({ index: this.#appliedIndex, lastSeq: this.#committed.lastSeq, bytes: data.length, ms: Math.round(performance.now() - started) }, 'snapshot taken');
    this.#scheduleDrain();
  }

  #maybeExpire(): void {
    if (this.#role !== 'leader' || this.#speculative === undefined || this.#expiryInFlight) return;
    const due = nextExpiryDue(this.#speculative);
    const now = this.#clock();
    if (due === undefined || due > now) return;
    const commandId = this.#newId();
    const outcome = decideAndEvolve({ type: 'ExpirePendingTransfers', data: { now }, metadata: { now, commandId } }, this.#speculative);
    if (outcome.type !== 'accepted' || outcome.events.length === 0) return;
    this.#expiryInFlight = true;
    void this.#appendAndWait(commandId, now, outcome.events, []).then((result) => {
      this.#expiryInFlight = false;
      if (!result.ok) this.#log.warn({ error: result.error }, 'expiring pending transfers did not commit; will retry');
    });
  }
}
