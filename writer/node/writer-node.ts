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
  CommittedLedgerState, createSpeculativeState, decodeSnapshot, evolve, initialState, nextExpiryDue, SnapshotEncoder, stateDigest,
  type AccountInput, type ItemResult, type LedgerEvent, type SnapshotView, type SpeculativeLedgerState, type TransferInput,
} from '../ledger/index.ts';
import type { Logger } from '../../common/logger.ts';
import type { Entry } from '../raft/entry.ts';
import type { Message, Snapshot, SnapshotMetadata } from '../raft/message.ts';
import { RaftNode } from '../raft/raft-node.ts';
import type { MembershipChange } from '../raft/membership.ts';
import type { RaftNodeConfig } from '../raft/config.ts';
import type { Ready, RaftRole } from '../raft/ready.ts';
import type { CommittedEventSource } from '../publisher/committed-event-source.ts';
import { AppliedEventSource, type HeldRecord } from './applied-event-source.ts';
import { decodeNodeRecord, encodeCommandRecord, encodePublishedWatermarkRecord, recordEvents } from './command-record.ts';
import { decodeNodeSnapshot, encodeNodeSnapshot, isNodeSnapshot, type RetainedRecord } from './node-snapshot.ts';
import { SeqIndex } from './seq-index.ts';

export interface NodeStorage {
  /**
   * Durably persists what the Ready asks for (one fsync); resolves only when it is on disk. The
   * event loop keeps running meanwhile, so requests arriving during the fsync join the next Ready.
   */
  persistAsync(ready: Ready): Promise<void>;
  /**
   * `persistAsync` with the fsync on the event loop: a follower's acknowledgement waits for the
   * fsync anyway, and handing it to the thread pool costs two thread wake-ups per Raft round.
   */
  persist(ready: Ready): void;
  /**
   * Durably stores the node's own snapshot, off the event loop; the node compacts the log up to it
   * only after this resolves. One at a time.
   */
  saveSnapshotAsync(snapshot: Snapshot): Promise<void>;
  close(): void;
}

export interface NodeTransport {
  send(messages: readonly Message[]): void;
}

/** What a node's Kafka publisher reports for /v1/cluster and /metrics. */
export interface PublisherView {
  /** `off`: this node runs without a publisher; `not_leader`: it publishes only while it leads; else the live publisher's state. */
  readonly state: string;
  /** The live publisher's published seq (read back from Kafka, then after every transaction); null when none runs or not yet known. */
  readonly publishedSeq: number | null;
  readonly lagEvents: number | null;
  readonly lagMs: number | null;
  /** Totals over every publisher this process ran. */
  readonly publishedEvents: number;
  readonly transactions: number;
  readonly retries: number;
  readonly restarts: number;
  readonly lastError: string | null;
}

export const publisherOffView: PublisherView = {
  state: 'off', publishedSeq: null, lagEvents: null, lagMs: null, publishedEvents: 0, transactions: 0, retries: 0, restarts: 0, lastError: null,
};

/** The node's side of its Kafka publisher (writer/publisher/publisher-supervisor.ts implements it). */
export interface NodePublisher {
  /** Role or term changed; called from the Ready loop, so it must not block. */
  roleChanged(role: RaftRole, term: number): void;
  /** New events were applied. */
  notify(): void;
  view(): PublisherView;
  stop(): Promise<void>;
}

export interface NodePublisherContext {
  readonly source: CommittedEventSource;
  /**
   * Appends a published-watermark record through the Raft log if this node still leads `term` and
   * `seq` is above the replicated watermark; false when it did not.
   */
  proposeWatermark(seq: number, term: number): boolean;
  /** The replicated watermark (applied watermark records). */
  replicatedPublishedSeq(): number;
}

export interface WriterNodeLimits {
  readonly tickMs: number;
  /** How long a request waits for its entry to commit before answering 503 (outcome unknown). */
  readonly commitWaitMsMax: number;
  /** Requests waiting for commit at once; more are refused with 503 (back-pressure). */
  readonly pendingRequestsMax: number;
  /** Take a snapshot and compact the log after this many applied entries … */
  readonly snapshotEveryEntries: number;
  /**
   * … or after this many bytes of applied entries, whichever comes first. The Raft log is held in
   * memory until a snapshot compacts it: 20,000 entries of a batched load (4,000 transfers, ~155 kB
   * each; 8,190 per request, ~320 kB) would be 3–6 GB per node.
   */
  readonly snapshotEveryBytes: number;
  /** Rebase the speculative overlay when it holds more records than this. */
  readonly speculativeRecordsMax: number;
  readonly expiryCheckMs: number;
}

export const writerNodeLimitsDefault: WriterNodeLimits = {
  tickMs: 10,
  commitWaitMsMax: 10_000,
  pendingRequestsMax: 4_096,
  snapshotEveryEntries: 20_000,
  snapshotEveryBytes: 256 * 1024 * 1024,
  speculativeRecordsMax: 200_000,
  expiryCheckMs: 100,
};

/**
 * A snapshot is taken only once the entries applied since the last one add up to at least this
 * share of that snapshot's size (as well as `snapshotEveryEntries` of them or `snapshotEveryBytes`): snapshot CPU stays
 * proportional to the write volume, and the log replayed on restart stays below this share of the
 * state.
 */
export const snapshotLogShareMin = 0.5;

/** Records a snapshot encodes per event-loop turn (a few ms of work each). */
export const snapshotSliceRecords = 20_000;

/** What a snapshot needs, taken at one applied index in one event-loop turn. */
interface SnapshotCapture {
  readonly index: number;
  readonly floorIndex: number;
  readonly floorSeq: number;
  readonly records: readonly RetainedRecord[];
  readonly publishedSeq: number;
  readonly metadata: SnapshotMetadata;
  readonly view: SnapshotView;
  readonly generation: number;
}

/** Longest stretch of Ready processing before the loop yields to timers and sockets. */
export const drainSliceMsMax = 20;

/** A gap between Raft ticks this long (a third of the shortest election timeout in production) is logged as a stall. */
export const tickStallMs = 100;

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
  /** The replicated published watermark: every event up to it is committed in Kafka (the compaction floor). */
  readonly publishedSeq: number;
  readonly publisher: PublisherView;
  readonly votingBlocked: boolean;
  /** Snapshots this process took of its own state, and installed from a leader. */
  readonly snapshots: { readonly taken: number; readonly installed: number };
  /** Times the Raft tick came at least tickStallMs late (a blocked event loop delays elections and heartbeats). */
  readonly tickStalls: number;
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
  /**
   * Creates this node's Kafka publisher. Absent: the node runs without one (WRITER_PUBLISHER=off),
   * and compaction is not held back by a published watermark.
   */
  readonly publisher?: (context: NodePublisherContext) => NodePublisher;
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
  /** Bytes of the entries applied since the last snapshot, and the size of that snapshot. */
  #entryBytesSinceSnapshot = 0;
  #lastSnapshotBytes = 0;
  /** The snapshot being encoded or written (at most one). */
  #snapshotInFlight: Promise<void> | undefined;
  /** Bumped whenever #committed is replaced by a snapshot's state: an older in-flight snapshot is abandoned. */
  #stateGeneration = 0;
  /** The replicated published watermark: every event with seq ≤ this is committed in Kafka. */
  #publishedSeq = 0;
  /** Highest watermark this leader proposed (avoids proposing the same one twice). */
  #proposedWatermark = 0;
  /** Command records a restored snapshot carried for entries (#snapshotFloor, snapshot index] the log may not hold. */
  #snapshotRecords = new Map<number, HeldRecord>();
  #snapshotFloor: number | undefined;
  readonly #source: AppliedEventSource;
  readonly #publisher: NodePublisher | undefined;
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
  readonly stats = { readies: 0, persistedEntries: 0, appliedEntries: 0, appliedEvents: 0, proposals: 0, snapshots: 0, snapshotChunksReused: 0, snapshotsInstalled: 0, tickStalls: 0 };

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
    // Before entry 1 there is nothing: seq 0 at index 0 (so the first entry's events are locatable).
    if (persisted?.snapshot !== undefined) this.#loadSnapshot(persisted.snapshot.metadata.index, persisted.snapshot.data);
    else this.#seqIndex.reset(0, 0);
    this.#raft = new RaftNode(persisted?.snapshot !== undefined && start.type === 'restore'
      ? { ...options.raft, start: { type: 'restore', data: { ...persisted, appliedIndex: this.#appliedIndex } } }
      : options.raft);
    this.#source = new AppliedEventSource({
      shard: this.#shard,
      seqIndex: this.#seqIndex,
      lastSeq: () => this.#committed.lastSeq,
      appliedIndex: () => this.#appliedIndex,
      recordAt: (index) => this.#recordAt(index),
      heldFromIndex: () => this.#heldFromIndex(),
    });
    this.#publisher = options.publisher?.({
      source: this.#source,
      proposeWatermark: (seq, term) => this.#proposeWatermark(seq, term),
      replicatedPublishedSeq: () => this.#publishedSeq,
    });
  }

  /** The applied log as the publisher reads it (also serves the admin events route). */
  get eventSource(): AppliedEventSource {
    return this.#source;
  }

  /** True when this node runs a Kafka publisher (WRITER_PUBLISHER=on). */
  get publishing(): boolean {
    return this.#publisher !== undefined;
  }

  start(): void {
    let lastTick = performance.now();
    this.#tickTimer = setInterval(() => {
      const now = performance.now();
      const gapMs = now - lastTick;
      lastTick = now;
      if (gapMs >= tickStallMs) {
        // Raft counts ticks, not wall time: a stalled loop delays elections and heartbeats alike.
        this.stats.tickStalls += 1;
        this.#log.warn({ gapMs: Math.round(gapMs), role: this.#role, term: this.#term }, 'event loop stalled: Raft ticks were late');
      }
      this.#raft.tick();
      this.#scheduleDrain();
    }, this.#limits.tickMs);
    this.#expiryTimer = setInterval(() => this.#maybeExpire(), this.#limits.expiryCheckMs);
    this.#scheduleDrain();
  }

  /** Stops timers, fails waiting requests, stops the publisher, and closes the storage once no persist is in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#tickTimer);
    clearInterval(this.#expiryTimer);
    this.#failAllWaiters({ code: 'stopped' });
    const publisherStopped = this.#publisher?.stop();
    if (this.#draining) await new Promise<void>((resolve) => (this.#drained = resolve));
    await this.#snapshotInFlight;
    this.#storage.close();
    await publisherStopped;
  }

  /** The transport could not reach `peer` after losing it (see RaftNode.peerUnreachable). */
  peerUnreachable(peer: string): void {
    if (this.#stopped) return;
    this.#raft.peerUnreachable(peer);
    this.#scheduleDrain();
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

  /** Resolves when the leader changes, after `timeoutMs`, or once `signal` aborts; for requests waiting out an election. */
  waitForLeaderChange(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#leaderListeners.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#leaderListeners.add(done);
      signal?.addEventListener('abort', done, { once: true });
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
      publishedSeq: this.#publishedSeq,
      publisher: this.#publisher?.view() ?? publisherOffView,
      votingBlocked: status.votingBlocked,
      snapshots: { taken: this.stats.snapshots, installed: this.stats.snapshotsInstalled },
      tickStalls: this.stats.tickStalls,
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
      // The leader keeps taking requests during its fsync (they join the next Ready); a follower
      // has nothing to do until its entries are durable, so it fsyncs in place.
      if (this.#role === 'leader') await this.#storage.persistAsync(ready);
      else this.#storage.persist(ready);
      if (this.#stopped) return;
      if (ready.joinFloor !== undefined) this.#onJoinFloor?.(ready.joinFloor);
      this.stats.persistedEntries += ready.entries.length;
      if (ready.messages.length > 0) this.#transport.send(ready.messages);
      if (ready.snapshot !== undefined) this.#restoreSnapshot(ready.snapshot.metadata.index, ready.snapshot.data);
      const seqBefore = this.#committed.lastSeq;
      for (const entry of ready.committedEntries) this.#apply(entry);
      if (this.#committed.lastSeq !== seqBefore || ready.snapshot !== undefined) this.#publisher?.notify();
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
    if (entry.index !== this.#appliedIndex + 1) assert.fail(`applied out of order: ${entry.index} after ${this.#appliedIndex}`);
    if (entry.kind === 'normal') {
      const record = decodeNodeRecord(entry.data);
      if (record.kind === 'command') {
        // The leader publishes what it applies: keep the decoded record for the publisher's read.
        if (this.#publisher !== undefined && this.#role === 'leader') this.#source.remember(entry.index, entry.term, record);
        for (const event of record.events) evolve(this.#committed, event);
        this.stats.appliedEvents += record.events.length;
      } else {
        this.#applyPublishedWatermark(record.seq);
      }
    }
    this.#appliedIndex = entry.index;
    this.#entriesSinceSnapshot += 1;
    this.#entryBytesSinceSnapshot += entry.data.length;
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

  /** A watermark record was applied: the compaction floor may move up (never down). */
  #applyPublishedWatermark(seq: number): void {
    assert(seq <= this.#committed.lastSeq, `published watermark ${seq} above the applied lastSeq ${this.#committed.lastSeq}`);
    if (seq > this.#publishedSeq) this.#publishedSeq = seq;
  }

  #restoreSnapshot(index: number, data: Uint8Array): void {
    this.#loadSnapshot(index, data);
    this.stats.snapshotsInstalled += 1;
    this.#log.info({ index, lastSeq: this.#committed.lastSeq, publishedSeq: this.#publishedSeq, retainedRecords: this.#snapshotRecords.size }, 'restored state from a snapshot sent by the leader');
  }

  /**
   * Ledger state, replicated watermark and the unpublished command records from a node snapshot;
   * the seq index is rebuilt over those records so the publisher can read them.
   */
  #loadSnapshot(index: number, data: Uint8Array): void {
    this.#stateGeneration += 1;
    this.#lastSnapshotBytes = data.length;
    this.#entriesSinceSnapshot = 0;
    this.#entryBytesSinceSnapshot = 0;
    if (!isNodeSnapshot(data)) {
      // Written before the publisher existed: no watermark, no records; events up to it cannot be republished.
      this.#committed = decodeSnapshot(data);
      this.#appliedIndex = index;
      this.#seqIndex.reset(index, this.#committed.lastSeq);
      this.#snapshotRecords = new Map();
      this.#snapshotFloor = index;
      this.#publishedSeq = Math.max(this.#publishedSeq, this.#committed.lastSeq);
      this.#log.warn({ index, lastSeq: this.#committed.lastSeq }, 'snapshot without publisher records (older format): treating its events as published');
      return;
    }
    const snapshot = decodeNodeSnapshot(data);
    this.#committed = decodeSnapshot(snapshot.ledger);
    this.#appliedIndex = index;
    assert(snapshot.floorIndex <= index, `snapshot floor ${snapshot.floorIndex} above its index ${index}`);
    this.#seqIndex.reset(snapshot.floorIndex, snapshot.floorSeq);
    const records = new Map<number, HeldRecord>();
    let seq = snapshot.floorSeq;
    for (const record of snapshot.records) {
      assert(record.index <= index, `snapshot record ${record.index} above its index ${index}`);
      seq += recordEvents(decodeNodeRecord(record.data)).length;
      this.#seqIndex.record(record.index, seq);
      records.set(record.index, { term: record.term, data: record.data });
    }
    assert.equal(seq, this.#committed.lastSeq, `snapshot at ${index}: floor seq ${snapshot.floorSeq} + retained events ≠ lastSeq ${this.#committed.lastSeq}`);
    if (index > (snapshot.records.at(-1)?.index ?? snapshot.floorIndex)) this.#seqIndex.record(index, seq);
    this.#seqIndex.keepFrom(snapshot.floorIndex);
    this.#snapshotRecords = records;
    this.#snapshotFloor = snapshot.floorIndex;
    assert(snapshot.publishedSeq <= this.#committed.lastSeq, `snapshot watermark ${snapshot.publishedSeq} above its lastSeq ${this.#committed.lastSeq}`);
    this.#publishedSeq = snapshot.publishedSeq;
  }

  /** Entry `index`'s payload if the node holds it: the log, else a restored snapshot's records. */
  #recordAt(index: number): HeldRecord | null | undefined {
    const status = this.#raft.status();
    if (index >= status.firstIndex && index <= status.lastIndex) {
      const entry = this.#raft.entryAt(index);
      return entry.kind === 'normal' ? { term: entry.term, data: entry.data } : null;
    }
    const held = this.#snapshotRecords.get(index);
    if (held !== undefined) return held;
    // Covered by the restored snapshot above its floor but not carried: an entry without events.
    if (this.#snapshotFloor !== undefined && index > this.#snapshotFloor && index <= this.#appliedIndex) return null;
    return undefined;
  }

  #heldFromIndex(): number {
    const firstInLog = this.#raft.status().firstIndex;
    return this.#snapshotFloor === undefined ? firstInLog : Math.min(firstInLog, this.#snapshotFloor + 1);
  }

  /** The leader appends a watermark record (the publisher rate-limits the calls). */
  #proposeWatermark(seq: number, term: number): boolean {
    if (this.#stopped || this.#role !== 'leader' || this.#term !== term) return false;
    if (seq <= this.#publishedSeq || seq <= this.#proposedWatermark) return false;
    if (seq > this.#committed.lastSeq) {
      // Kafka holds more than this log: the topic belongs to another history. Never let that move the floor.
      this.#log.error({ seq, lastSeq: this.#committed.lastSeq }, 'the topic holds events beyond this log: not proposing that watermark');
      return false;
    }
    const proposed = this.#raft.propose([encodePublishedWatermarkRecord({ seq })]);
    if (!proposed.ok) return false;
    this.#proposedWatermark = seq;
    this.#scheduleDrain();
    return true;
  }

  #onSoftState(role: RaftRole, leaderId: string | null, term: number): void {
    const wasLeader = this.#role === 'leader';
    if (role !== this.#role || term !== this.#term || leaderId !== this.#leaderId) this.#log.info({ role, term, leaderId }, 'raft role changed');
    this.#role = role;
    this.#leaderId = leaderId;
    this.#term = term;
    if (wasLeader && role !== 'leader') {
      this.#speculative = undefined;
      this.#failAllWaiters({ code: 'leadership_changed', leaderId });
      this.#log.warn({ term, leaderId }, 'lost leadership');
    }
    if (role === 'leader' && !wasLeader) {
      this.#proposedWatermark = this.#publishedSeq;
      this.#resetSpeculative();
      this.#log.info({ term, appliedIndex: this.#appliedIndex, lastIndex: this.#raft.status().lastIndex }, 'became leader');
    }
    this.#publisher?.roleChanged(role, term);
    this.#onLeaderChange?.(leaderId, role, term);
    for (const listener of [...this.#leaderListeners]) listener();
  }

  /** The leader's speculative state: committed state + every event in the log after it. */
  #resetSpeculative(): void {
    const status = this.#raft.status();
    const events: LedgerEvent[] = [];
    for (let index = this.#appliedIndex + 1; index <= status.lastIndex; index += 1) {
      const entry = this.#raft.entryAt(index);
      if (entry.kind === 'normal') events.push(...recordEvents(decodeNodeRecord(entry.data)));
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

  /**
   * Every `snapshotEveryEntries` applied entries or `snapshotEveryBytes` of them: a snapshot of the committed state at the applied
   * index, taken WITHOUT stalling the event loop — the state is read through a view that keeps it
   * as it was (snapshot-encoder.ts), encoded in slices between event-loop turns, and written and
   * fsynced off the loop; only once it is durable is the log compacted up to it. (Encoding a large
   * state in one go blocked the leader for seconds and cost an election each time.) One at a
   * time; a snapshot installed from the leader meanwhile, or stop(), abandons it.
   */
  #maybeSnapshot(): void {
    if (this.#snapshotInFlight !== undefined || this.#stopped) return;
    if (this.#entriesSinceSnapshot < this.#limits.snapshotEveryEntries && this.#entryBytesSinceSnapshot < this.#limits.snapshotEveryBytes) return;
    // A snapshot costs in proportion to the whole state, the log since the last one only to what
    // was written: wait until that log is a fair share of the last snapshot, so small entries over
    // a large state (one transfer per request) do not spend the CPU re-encoding it every few seconds.
    if (this.#entryBytesSinceSnapshot < this.#lastSnapshotBytes * snapshotLogShareMin) return;
    this.#entriesSinceSnapshot = 0;
    this.#entryBytesSinceSnapshot = 0;
    const index = this.#appliedIndex;
    // The log is kept from the entry before the first unpublished event (DESIGN.md §5); without a
    // publisher nothing is held back.
    const floorIndex = this.#publisher === undefined ? index : this.#compactionFloor();
    const floorSeq = this.#seqIndex.seqAt(floorIndex, 0);
    const records: RetainedRecord[] = [];
    for (let at = floorIndex + 1; at <= index; at += 1) {
      if (this.#seqIndex.seqAt(at, 0) === this.#seqIndex.seqAt(at - 1, 0)) continue; // no events in it
      const held = this.#recordAt(at);
      assert(held !== null && held !== undefined, `entry ${at} holds unpublished events but this node no longer has it`);
      records.push({ index: at, term: held.term, data: held.data });
    }
    const capture: SnapshotCapture = {
      index, floorIndex, floorSeq, records, publishedSeq: this.#publishedSeq, metadata: this.#raft.snapshotMetadata(index),
      view: this.#committed.beginSnapshotView(), generation: this.#stateGeneration,
    };
    const inFlight = this.#takeSnapshot(capture)
      .catch((error: unknown) => {
        // A failed snapshot write (disk full, fsync error): crash and recover from what the disk holds.
        this.#log.fatal({ err: error, index }, 'writing a snapshot failed; crashing');
        setImmediate(() => {
          throw error;
        });
      })
      .finally(() => {
        capture.view.end();
        this.#snapshotInFlight = undefined;
      });
    this.#snapshotInFlight = inFlight;
  }

  async #takeSnapshot(capture: SnapshotCapture): Promise<void> {
    const started = performance.now();
    const abandoned = () => this.#stopped || this.#stateGeneration !== capture.generation;
    const encoder = new SnapshotEncoder(capture.view);
    const pieces: Uint8Array[] = [];
    let encodingMs = 0;
    for (;;) {
      const sliceStarted = performance.now();
      const piece = encoder.next(snapshotSliceRecords);
      encodingMs += performance.now() - sliceStarted;
      if (piece === undefined) break;
      pieces.push(piece);
      await new Promise((resolve) => setImmediate(resolve));
      if (abandoned()) return;
    }
    capture.view.end();
    const ledger = Buffer.concat(pieces);
    const data = encodeNodeSnapshot({ ledger, publishedSeq: capture.publishedSeq, floorIndex: capture.floorIndex, floorSeq: capture.floorSeq, records: capture.records });
    // The kept transfer chunks are now also inside `data`, which the Raft core holds as its
    // snapshot: keep them as views into it, so the encoded state is in memory once.
    const ledgerInData = decodeNodeSnapshot(data).ledger;
    const offsets = new Map<Uint8Array, number>();
    for (let index = 0, at = 0; index < pieces.length; at += pieces[index]!.length, index += 1) offsets.set(pieces[index]!, at);
    capture.view.transferChunks.rebase((bytes) => {
      const at = offsets.get(bytes);
      return at === undefined ? undefined : ledgerInData.subarray(at, at + bytes.length);
    });
    await this.#storage.saveSnapshotAsync({ metadata: capture.metadata, data });
    if (abandoned()) return;
    const snapshot = this.#raft.compact(capture.index, data, capture.floorIndex);
    assert(snapshot.metadata.index >= capture.index, `compacted to a snapshot at ${snapshot.metadata.index}, below ${capture.index}`);
    // Records at or below the floor are published: drop what a restored snapshot carried for them.
    for (const held of this.#snapshotRecords.keys()) if (held <= capture.floorIndex) this.#snapshotRecords.delete(held);
    if (this.#snapshotFloor !== undefined) this.#snapshotFloor = Math.max(this.#snapshotFloor, capture.floorIndex);
    this.#seqIndex.keepFrom(capture.floorIndex);
    this.stats.snapshots += 1;
    this.stats.snapshotChunksReused += encoder.reusedChunks;
    this.#lastSnapshotBytes = data.length;
    this.#log.info({
      index: capture.index, floorIndex: capture.floorIndex, lastSeq: capture.view.lastSeq, publishedSeq: capture.publishedSeq, retainedRecords: capture.records.length,
      bytes: data.length, encodingMs: Math.round(encodingMs), ms: Math.round(performance.now() - started),
      transferChunks: { reused: encoder.reusedChunks, encoded: encoder.encodedChunks },
    }, 'snapshot taken');
    this.#scheduleDrain();
  }

  /** The last entry all of whose events are at or below the replicated watermark (never above the applied index). */
  #compactionFloor(): number {
    const floor = this.#seqIndex.lastIndexAtOrBelow(this.#publishedSeq);
    // No known entry at or below the watermark: keep everything the log holds now.
    if (floor === undefined) return this.#heldFromIndex() - 1;
    return Math.max(Math.min(floor, this.#appliedIndex), this.#heldFromIndex() - 1);
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
