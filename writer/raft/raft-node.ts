// The Raft consensus core (Ongaro & Ousterhout 2014; Ongaro's thesis 2014) as a pure,
// deterministic state machine, modelled on etcd-io/raft's Ready/Advance loop.
//
// CONTRACT WITH THE SHELL
// - Inputs: tick(), step(message), propose(payloads), barrier(), proposeMembershipChange(change),
//   transferLeadership(to), compact(snapshotIndex, snapshotData, floorIndex),
//   peerUnreachable(peer) (a hint from the transport; see that method).
// - Output: ready() returns a Ready (or undefined when there is nothing to do). The shell then:
//     1. persists ready.snapshot (replacing the whole persisted log), ready.entries (replacing
//        persisted entries from entries[0].index on) and ready.hardState DURABLY (fsync);
//     2. only then sends ready.messages — vote grants and append acknowledgements promise
//        persisted state (Figure 2: "updated on stable storage before responding to RPCs");
//     3. restores the application from ready.snapshot, applies ready.committedEntries in order,
//        then answers ready.barriersResolved (their index is applied by then);
//     4. calls advance(ready). ready() must not be called again before advance().
//   Inputs may be called between ready() and advance(); their effects go to the next Ready.
// - A LEADER WRITES IN PARALLEL with its followers (thesis §10.2.1; etcd-raft allows the same):
//   when a leader has new entries AND messages or committed entries, ready() hands out the
//   messages and committed entries first, in a Ready without those entries (and without a hard
//   state whose commit is beyond the leader's persisted log), and the entries in the next Ready.
//   So the leader's AppendEntries leave before its own fsync, and committed entries are applied
//   without waiting for the fsync of unrelated new ones. This is safe because what such a Ready
//   sends promises nothing about the leader's disk: its own log counts towards a quorum only once
//   persisted (#stableIndex), its term and vote were persisted before it could lead (the split
//   never happens when the hard state's term or vote changes), and committed entries are durable
//   on a majority already. Followers' acknowledgements and votes still follow their persist.
// - Time is tick(); randomness is config.random (a seeded PRNG). No clock, no I/O here.
// - Read barriers: barrier() returns an id; barriers requested before the next ready() share one
//   no-op entry appended AFTER all of them were requested, so a read answered once that entry is
//   applied reflects every write acknowledged before the read began (never a stale entry).
// - A restarted node replays committed entries above appliedIndex (default: the snapshot index).

import assert from 'node:assert/strict';
import { emptyData, type Entry } from './entry.ts';
import { validateRaftConfig, type RaftNodeConfig } from './config.ts';
import { noInjectedBugs, type InjectedBugs } from './injected-bugs.ts';
import {
  applyMembershipChange,
  decodeMembershipEntry,
  emptyMembership,
  encodeMembershipEntry,
  isMember,
  isVoter,
  quorumSize,
  type Membership,
  type MembershipChange,
} from './membership.ts';
import type {
  AppendEntries,
  AppendResponse,
  Heartbeat,
  HeartbeatResponse,
  InstallSnapshot,
  InstallSnapshotResponse,
  Message,
  PreVoteRequest,
  Snapshot,
  SnapshotMetadata,
  VoteRequest,
  VoteResponse,
} from './message.ts';
import type { HardState, PersistentState } from './persistent-state.ts';
import { Progress } from './progress.ts';
import { RaftLog } from './raft-log.ts';
import type { MembershipProposeError, ProposeError, TransferLeadershipError, NotLeader } from './raft-error.ts';
import type { BarrierResolution, Ready, RaftRole, SoftState } from './ready.ts';

export type ProposeResult =
  | { ok: true; firstIndex: number; lastIndex: number; term: number }
  | { ok: false; error: ProposeError };

export type MembershipProposeResult =
  | { ok: true; index: number; term: number }
  | { ok: false; error: MembershipProposeError };

export type BarrierResult = { ok: true; barrierId: number } | { ok: false; error: NotLeader };

export type TransferLeadershipResult = { ok: true } | { ok: false; error: TransferLeadershipError };

export interface RaftStatus {
  readonly id: string;
  readonly role: RaftRole;
  readonly term: number;
  readonly votedFor: string | null;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly membership: Membership;
  readonly votingBlocked: boolean;
}

const entriesPerProposalMaxDefault = 65_536;
const committedEntriesPerReadyMaxDefault = 16_384;

interface MembershipPoint {
  readonly index: number;
  readonly membership: Membership;
}

interface IncomingSnapshot {
  readonly index: number;
  readonly term: number;
  readonly chunks: Uint8Array[];
  receivedBytes: number;
}

export class RaftNode {
  readonly #id: string;
  readonly #config: RaftNodeConfig;
  readonly #bugs: InjectedBugs;
  readonly #entriesPerProposalMax: number;
  readonly #committedEntriesPerReadyMax: number;

  // Persistent state (Figure 2) and its last persisted image.
  #term = 0;
  #votedFor: string | null = null;
  #commit = 0;
  #persistedHardState: HardState;
  readonly #log: RaftLog;
  /** Entries up to here were handed to the shell in a Ready that was advanced (persisted). */
  #stableIndex: number;
  #applied: number;

  // Membership, effective on append: one point per membership entry, plus the base.
  #membershipPoints: MembershipPoint[];
  #votingBlocked: boolean;
  /**
   * For a `join` node: the leader's commit index when it first heard from a leader. Only a
   * promotion at a higher index (made after the node joined) lets it vote.
   */
  #joinFloor: number | undefined;
  #joinFloorToPersist: number | undefined;
  #votingUnblocked = false;

  // Volatile role state.
  #role: RaftRole = 'follower';
  #leaderId: string | null = null;
  #step: (message: Message) => void;
  #tick: () => void;
  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #randomizedElectionTicks = 0;
  readonly #votes = new Map<string, boolean>();
  readonly #progress = new Map<string, Progress>();
  #leaderFirstIndex = 0;
  #leadershipTransferee: string | null = null;

  // Snapshots.
  #snapshot: Snapshot | undefined;
  #pendingSnapshot: Snapshot | undefined;
  #incomingSnapshot: IncomingSnapshot | undefined;
  #compactedTo: number | undefined;
  /** Highest index verified to match the current leader's log in this term (safe to commit to). */
  #leaderVerifiedIndex = 0;

  // Barriers.
  #nextBarrierId = 1;
  #barriersWaiting: number[] = [];
  readonly #barrierEntries = new Map<number, { term: number; barrierIds: number[] }>();
  #barrierResolutions: BarrierResolution[] = [];
  #barriersFailed: number[] = [];

  // Output.
  #messages: Message[] = [];
  #lastSoftState: SoftState;
  #readyOutstanding = false;
  /** The last Ready held the leader's new entries back (the next one carries them). */
  #entriesDeferred = false;
  readonly #quorumScratch: number[] = [];

  constructor(config: RaftNodeConfig) {
    const error = validateRaftConfig(config);
    if (error !== undefined) throw error;
    this.#id = config.id;
    this.#config = config;
    this.#bugs = { ...noInjectedBugs, ...config.bugs };
    this.#entriesPerProposalMax = config.entriesPerProposalMax ?? entriesPerProposalMaxDefault;
    this.#committedEntriesPerReadyMax = config.committedEntriesPerReadyMax ?? committedEntriesPerReadyMaxDefault;

    const start = config.start;
    let persisted: PersistentState | undefined;
    if (start.type === 'restore') persisted = start.data;
    else if (start.type === 'join') persisted = start.data.persisted;
    this.#votingBlocked = start.type === 'join';
    if (start.type === 'join') this.#joinFloor = start.data.joinFloor;

    if (start.type === 'bootstrap') {
      // The initial membership is entry 1 of term 1 on every bootstrapped node: identical
      // everywhere, so Log Matching holds, and persisted like any entry (survives restarts).
      const membership: Membership = { voters: [...start.data.voters], learners: [] };
      this.#log = new RaftLog(0, 0, []);
      this.#term = 1;
      this.#persistedHardState = { term: 0, votedFor: null, commit: 0 };
      this.#stableIndex = 0;
      this.#applied = 0;
      this.#membershipPoints = [{ index: 0, membership: emptyMembership }];
      this.#appendLocal([
        { index: 1, term: 1, kind: 'membership', data: encodeMembershipEntry({ change: null, membership }) },
      ]);
    } else {
      const snapshot = persisted?.snapshot;
      const offset = snapshot?.metadata.index ?? 0;
      const offsetTerm = snapshot?.metadata.term ?? 0;
      this.#log = new RaftLog(offset, offsetTerm, persisted?.entries ?? []);
      this.#snapshot = snapshot;
      const hardState = persisted?.hardState ?? { term: 0, votedFor: null, commit: 0 };
      this.#term = hardState.term;
      this.#votedFor = hardState.votedFor;
      this.#commit = Math.max(hardState.commit, offset);
      assert(this.#commit <= this.#log.lastIndex, 'restored commit index beyond the restored log');
      this.#persistedHardState = hardState;
      this.#stableIndex = this.#log.lastIndex;
      this.#applied = Math.max(persisted?.appliedIndex ?? offset, offset);
      assert(this.#applied <= this.#commit, 'restored applied index beyond the commit index');
      this.#membershipPoints = [{ index: offset, membership: snapshot?.metadata.membership ?? emptyMembership }];
      for (let index = offset + 1; index <= this.#log.lastIndex; index++) {
        const entry = this.#log.entry(index);
        if (entry.kind === 'membership') this.#recordMembershipEntry(entry, false);
      }
    }

    this.#step = this.#stepFollower;
    this.#tick = this.#tickElection;
    this.#resetRandomizedElectionTicks();
    this.#lastSoftState = { role: this.#role, leaderId: this.#leaderId, term: this.#term };
  }

  // ───────────────────────────── public inputs ─────────────────────────────

  get id(): string {
    return this.#id;
  }

  get votingBlocked(): boolean {
    return this.#votingBlocked;
  }

  status(): RaftStatus {
    return {
      id: this.#id,
      role: this.#role,
      term: this.#term,
      votedFor: this.#votedFor,
      leaderId: this.#leaderId,
      commitIndex: this.#commit,
      appliedIndex: this.#applied,
      lastIndex: this.#log.lastIndex,
      firstIndex: this.#log.firstIndex,
      membership: this.#membership(),
      votingBlocked: this.#votingBlocked,
    };
  }

  /** Term of the entry at `index` in this node's log (undefined if compacted or absent). */
  termAt(index: number): number | undefined {
    return this.#log.term(index);
  }

  /** The entry at `index` (it must be in the log). */
  entryAt(index: number): Entry {
    return this.#log.entry(index);
  }

  tick(): void {
    this.#tick();
  }

  step(message: Message): void {
    assert.equal(message.to, this.#id, 'message delivered to the wrong node');
    if (message.from === this.#id) return;
    if (message.term > this.#term) {
      if (message.type === 'pre_vote_request' || message.type === 'vote_request') {
        // Leader lease (check-quorum, thesis §4.2.3): while a leader is heard from, ignore
        // disruptive campaigns — except one started by leadership transfer.
        const forced = message.type === 'vote_request' && message.leadershipTransfer;
        if (this.#inLease() && !forced) return;
      }
      if (message.type === 'pre_vote_request') {
        // Pre-vote never moves the receiver's term.
      } else if (message.type === 'pre_vote_response' && message.granted) {
        // A granted pre-vote carries the term we would campaign for.
      } else if (message.type === 'append_entries' || message.type === 'heartbeat' || message.type === 'install_snapshot') {
        this.#becomeFollower(message.term, message.from);
      } else {
        this.#becomeFollower(message.term, null);
      }
    } else if (message.term < this.#term) {
      if (message.type === 'append_entries' || message.type === 'heartbeat' || message.type === 'install_snapshot') {
        // Tell a stale leader about the newer term so it steps down (needed with check-quorum
        // and pre-vote, etcd-io/etcd#9586).
        this.#send({
          type: 'append_response', from: this.#id, to: message.from, term: this.#term,
          success: false, matchIndex: 0, rejectedIndex: 0, conflictTerm: 0, conflictIndex: 0,
        });
      } else if (message.type === 'pre_vote_request') {
        this.#send({ type: 'pre_vote_response', from: this.#id, to: message.from, term: this.#term, granted: false });
      }
      return;
    }

    if (message.type === 'pre_vote_request' || message.type === 'vote_request') {
      this.#handleVoteRequest(message);
      return;
    }
    this.#step(message);
  }

  propose(payloads: readonly Uint8Array[]): ProposeResult {
    const refused = this.#refuseProposal();
    if (refused !== undefined) return { ok: false, error: refused };
    if (payloads.length > this.#entriesPerProposalMax) {
      return { ok: false, error: { code: 'proposal_too_large', entriesMax: this.#entriesPerProposalMax } };
    }
    assert(payloads.length > 0, 'propose() needs at least one payload');
    const firstIndex = this.#log.lastIndex + 1;
    const term = this.#term;
    const entries: Entry[] = new Array<Entry>(payloads.length);
    for (let i = 0; i < payloads.length; i++) {
      entries[i] = { index: firstIndex + i, term, kind: 'normal', data: payloads[i]! };
    }
    this.#log.append(entries); // normal entries only: no membership bookkeeping
    this.#broadcastAppend();
    return { ok: true, firstIndex, lastIndex: firstIndex + payloads.length - 1, term };
  }

  /** Request a read barrier (see the contract at the top of this file). */
  barrier(): BarrierResult {
    if (this.#role !== 'leader') return { ok: false, error: { code: 'not_leader', leaderId: this.#leaderId } };
    const barrierId = this.#nextBarrierId++;
    if (this.#bugs.readWithoutBarrier) {
      this.#barrierResolutions.push({ barrierIds: [barrierId], index: this.#commit });
    } else {
      this.#barriersWaiting.push(barrierId);
    }
    return { ok: true, barrierId };
  }

  proposeMembershipChange(change: MembershipChange): MembershipProposeResult {
    const refused = this.#refuseProposal();
    if (refused !== undefined) return { ok: false, error: refused };
    // One change at a time, and only after this leader committed an entry of its term
    // (thesis §4.1 and its 2015 erratum on single-server changes).
    const lastChange = this.#membershipPoints[this.#membershipPoints.length - 1]!;
    if (lastChange.index > this.#commit || this.#commit < this.#leaderFirstIndex) {
      return { ok: false, error: { code: 'membership_change_in_progress' } };
    }
    const applied = applyMembershipChange(this.#membership(), change);
    if (!applied.ok) return { ok: false, error: applied.error };
    if (change.type === 'promote' && (this.#progress.get(change.data.nodeId)?.matchIndex ?? 0) < this.#commit) {
      // A learner catches up before it counts towards quorums (thesis §4.2.1).
      return { ok: false, error: { code: 'learner_not_caught_up', nodeId: change.data.nodeId } };
    }
    const index = this.#log.lastIndex + 1;
    this.#appendLocal([
      { index, term: this.#term, kind: 'membership', data: encodeMembershipEntry({ change, membership: applied.membership }) },
    ]);
    this.#broadcastAppend();
    return { ok: true, index, term: this.#term };
  }

  /**
   * A hint from the transport: our connection to `peer` was lost and a new one could not be made
   * (its process is gone, or the network cuts it off). A follower of that peer stops counting it
   * as heard from — its leader lease ends, so it grants the other followers' pre-votes — and
   * campaigns within two heartbeat intervals instead of a whole election timeout. The delay is
   * random so that the followers who got the same hint rarely stand together.
   *
   * Only liveness depends on it: a campaign still starts with a pre-vote that needs a quorum, and
   * a node still in touch with a live leader keeps refusing (its own lease holds). A wrong hint
   * costs at most a pre-vote round; a heartbeat from the leader undoes it.
   */
  peerUnreachable(peer: string): void {
    if (this.#role !== 'follower' || this.#leaderId !== peer || !this.#promotable()) return;
    this.#leaderId = null;
    const soon = this.#randomizedElectionTicks - 1 - Math.floor(this.#config.random() * 2 * this.#config.heartbeatTicks);
    this.#electionElapsed = Math.max(this.#electionElapsed, soon);
  }

  /** Leadership transfer (thesis §3.10): catch the target up, then send it TimeoutNow. */
  transferLeadership(to: string): TransferLeadershipResult {
    if (this.#role !== 'leader') return { ok: false, error: { code: 'not_leader', leaderId: this.#leaderId } };
    if (to === this.#id) return { ok: true };
    const progress = this.#progress.get(to);
    if (progress === undefined || !isVoter(this.#membership(), to)) {
      return { ok: false, error: { code: 'unknown_voter', nodeId: to } };
    }
    this.#leadershipTransferee = to;
    this.#electionElapsed = 0;
    if (progress.matchIndex === this.#log.lastIndex) this.#sendTimeoutNow(to);
    else this.#maybeSendAppend(to, progress, true);
    return { ok: true };
  }

  /**
   * The application took a snapshot of its state at `snapshotIndex` (≤ applied). The log at or
   * below min(snapshotIndex, floorIndex) may be dropped; followers behind the kept log receive
   * this snapshot. Returns the node's snapshot (metadata includes the membership at its index),
   * which the shell persists.
   */
  /**
   * The metadata a snapshot at `snapshotIndex` (applied, still in the log) will carry — for a shell
   * that writes the snapshot durably before calling compact() with the same index.
   */
  snapshotMetadata(snapshotIndex: number): SnapshotMetadata {
    assert(snapshotIndex <= this.#applied, `snapshot ${snapshotIndex} above the applied index ${this.#applied}`);
    const term = this.#log.term(snapshotIndex);
    assert(term !== undefined, `snapshot index ${snapshotIndex} is not in the log`);
    return { index: snapshotIndex, term, membership: this.#membershipAt(snapshotIndex) };
  }

  compact(snapshotIndex: number, snapshotData: Uint8Array, floorIndex: number): Snapshot {
    assert(snapshotIndex <= this.#applied, `snapshot ${snapshotIndex} above the applied index ${this.#applied}`);
    assert(floorIndex >= 0);
    if (this.#snapshot === undefined || snapshotIndex > this.#snapshot.metadata.index) {
      this.#snapshot = { metadata: this.snapshotMetadata(snapshotIndex), data: snapshotData };
    }
    // A leader may have applied entries it has not persisted yet (committed by its followers):
    // the log is never compacted past what this node persisted.
    const compactTo = Math.min(this.#snapshot.metadata.index, floorIndex, this.#stableIndex);
    if (compactTo > this.#log.offset) {
      this.#log.compact(compactTo);
      this.#pruneMembershipPoints(compactTo);
      this.#compactedTo = compactTo;
    }
    return this.#snapshot;
  }

  // ───────────────────────────── Ready / Advance ─────────────────────────────

  ready(): Ready | undefined {
    assert(!this.#readyOutstanding, 'ready() called again before advance()');
    this.#flushBarriers();
    let hardState = this.#hardStateToPersist();
    const softState = this.#softStateChanged();
    const applyFrom = Math.max(this.#applied, this.#pendingSnapshot?.metadata.index ?? 0) + 1;
    const applyTo = Math.min(this.#commit, this.#log.lastIndex, applyFrom + this.#committedEntriesPerReadyMax - 1);
    const committedEntries = applyTo >= applyFrom
      ? this.#log.slice(applyFrom, applyTo, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY)
      : [];
    const unstable = this.#stableIndex < this.#log.lastIndex;
    // See "A LEADER WRITES IN PARALLEL" at the top of this file. Never twice in a row, so the
    // entries are persisted by the very next Ready.
    const deferEntries = unstable && !this.#entriesDeferred && this.#role === 'leader' && this.#pendingSnapshot === undefined &&
      (this.#messages.length > 0 || committedEntries.length > 0) &&
      (hardState === undefined || (hardState.term === this.#persistedHardState.term && hardState.votedFor === this.#persistedHardState.votedFor));
    this.#entriesDeferred = deferEntries;
    // A commit index beyond the persisted log must not reach the disk before the entries it covers.
    if (deferEntries && hardState !== undefined && hardState.commit > this.#stableIndex) hardState = undefined;
    const entries = unstable && !deferEntries
      ? this.#log.slice(this.#stableIndex + 1, this.#log.lastIndex, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY)
      : [];
    const appliedAfter = applyTo >= applyFrom ? applyTo : applyFrom - 1;
    const barriersResolved = this.#takeBarrierResolutions(committedEntries, appliedAfter);
    if (
      hardState === undefined && softState === undefined && entries.length === 0 &&
      committedEntries.length === 0 && this.#messages.length === 0 && this.#pendingSnapshot === undefined &&
      barriersResolved.length === 0 && this.#barriersFailed.length === 0 && this.#compactedTo === undefined &&
      !this.#votingUnblocked && this.#joinFloorToPersist === undefined
    ) {
      return undefined;
    }
    const ready: Ready = {
      hardState,
      entries,
      snapshot: this.#pendingSnapshot,
      messages: this.#messages,
      committedEntries,
      barriersResolved,
      barriersFailed: this.#barriersFailed,
      softState,
      compactedTo: this.#compactedTo,
      votingUnblocked: this.#votingUnblocked,
      joinFloor: this.#joinFloorToPersist,
    };
    this.#messages = [];
    this.#barriersFailed = [];
    this.#compactedTo = undefined;
    this.#votingUnblocked = false;
    this.#joinFloorToPersist = undefined;
    if (softState !== undefined) this.#lastSoftState = softState;
    this.#readyOutstanding = true;
    return ready;
  }

  advance(ready: Ready): void {
    assert(this.#readyOutstanding, 'advance() without an outstanding ready()');
    this.#readyOutstanding = false;
    if (ready.hardState !== undefined) this.#persistedHardState = ready.hardState;
    if (ready.snapshot !== undefined) {
      if (this.#pendingSnapshot === ready.snapshot) this.#pendingSnapshot = undefined;
      this.#applied = Math.max(this.#applied, ready.snapshot.metadata.index);
    }
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry !== undefined && this.#log.term(lastEntry.index) === lastEntry.term) {
      this.#stableIndex = Math.max(this.#stableIndex, lastEntry.index);
    }
    const lastCommitted = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      assert(lastCommitted.index > this.#applied, 'applied index never regresses');
      this.#applied = lastCommitted.index;
    }
    assert(this.#applied <= this.#commit, 'applied beyond commit');
    // The leader's own log counts towards a quorum only once persisted.
    if (this.#role === 'leader') this.#maybeCommit();
  }

  // ───────────────────────────── role transitions ─────────────────────────────

  #becomeFollower(term: number, leaderId: string | null): void {
    assert(term >= this.#term, 'term never regresses');
    const wasLeader = this.#role === 'leader';
    if (term > this.#term) {
      this.#term = term;
      this.#votedFor = null;
      this.#leaderVerifiedIndex = 0;
    }
    if (leaderId !== this.#leaderId) this.#leaderVerifiedIndex = 0;
    this.#role = 'follower';
    this.#leaderId = leaderId;
    this.#step = this.#stepFollower;
    this.#tick = this.#tickElection;
    this.#electionElapsed = 0;
    this.#resetRandomizedElectionTicks();
    if (wasLeader) {
      this.#progress.clear();
      this.#leadershipTransferee = null;
      this.#failAllBarriers();
    }
  }

  #campaign(kind: 'pre_vote' | 'election', leadershipTransfer: boolean): void {
    assert(this.#role !== 'leader');
    this.#votes.clear();
    this.#leaderId = null;
    this.#leaderVerifiedIndex = 0;
    this.#electionElapsed = 0;
    this.#resetRandomizedElectionTicks();
    this.#step = this.#stepCandidate;
    this.#tick = this.#tickElection;
    let requestTerm: number;
    if (kind === 'pre_vote') {
      this.#role = 'pre_candidate';
      requestTerm = this.#term + 1;
    } else {
      this.#role = 'candidate';
      this.#term += 1;
      this.#votedFor = this.#id;
      requestTerm = this.#term;
    }
    this.#votes.set(this.#id, true);
    if (this.#tallyVotes() === 'won') return;
    this.#requestVotes(kind, requestTerm, leadershipTransfer);
  }

  /** Asks every voter that has not answered this campaign yet (at its start: every other voter). */
  #requestVotes(kind: 'pre_vote' | 'election', requestTerm: number, leadershipTransfer: boolean): void {
    const lastLogIndex = this.#log.lastIndex;
    const lastLogTerm = this.#log.lastTerm;
    for (const voter of this.#membership().voters) {
      if (this.#votes.has(voter)) continue;
      if (kind === 'pre_vote') {
        this.#send({ type: 'pre_vote_request', from: this.#id, to: voter, term: requestTerm, lastLogIndex, lastLogTerm });
      } else {
        this.#send({ type: 'vote_request', from: this.#id, to: voter, term: requestTerm, lastLogIndex, lastLogTerm, leadershipTransfer });
      }
    }
  }

  /** Leader lease (check-quorum, thesis §4.2.3): a leader was heard from within the minimum election timeout. */
  #inLease(): boolean {
    return this.#leaderId !== null && this.#electionElapsed < this.#config.electionTicksMin;
  }

  #tallyVotes(): 'won' | 'lost' | 'pending' {
    const membership = this.#membership();
    let granted = 0;
    let rejected = 0;
    for (const voter of membership.voters) {
      const vote = this.#votes.get(voter);
      if (vote === true) granted++;
      else if (vote === false) rejected++;
    }
    const quorum = quorumSize(membership);
    if (granted >= quorum) {
      if (this.#role === 'pre_candidate') this.#campaign('election', false);
      else this.#becomeLeader();
      return 'won';
    }
    if (rejected >= quorum) {
      this.#becomeFollower(this.#term, null);
      return 'lost';
    }
    return 'pending';
  }

  #becomeLeader(): void {
    assert(this.#role === 'candidate');
    this.#role = 'leader';
    this.#leaderId = this.#id;
    this.#step = this.#stepLeader;
    this.#tick = this.#tickHeartbeat;
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#leadershipTransferee = null;
    this.#progress.clear();
    this.#syncProgressWithMembership();
    // A no-op entry of the new term (§5.4.2, thesis §6.4): commits the previous terms' entries.
    this.#leaderFirstIndex = this.#log.lastIndex + 1;
    this.#appendLocal([{ index: this.#leaderFirstIndex, term: this.#term, kind: 'noop', data: emptyData }]);
    this.#broadcastAppend();
  }

  // ───────────────────────────── ticks ─────────────────────────────

  readonly #tickElection = (): void => {
    this.#electionElapsed++;
    if (this.#electionElapsed >= this.#randomizedElectionTicks && this.#promotable()) {
      this.#campaign('pre_vote', false);
    } else if (this.#role === 'pre_candidate' && this.#electionElapsed % this.#config.heartbeatTicks === 0) {
      // A voter still in its leader lease ignores a pre-vote without answering (a lost message
      // looks the same). Its lease may end a moment later — a node that restarted recently counts
      // fewer ticks than wall time passed — so ask the voters that have not answered again every
      // heartbeat interval instead of waiting out a whole election timeout. Pre-votes bind
      // nothing, and a voter answers the same request the same way, so asking twice changes no outcome.
      this.#requestVotes('pre_vote', this.#term + 1, false);
    }
  };

  readonly #tickHeartbeat = (): void => {
    this.#electionElapsed++;
    this.#heartbeatElapsed++;
    if (this.#electionElapsed >= this.#config.electionTicksMin) {
      this.#electionElapsed = 0;
      // Check-quorum (thesis §6.2): step down unless a quorum was heard from.
      if (!this.#quorumActive()) {
        this.#becomeFollower(this.#term, null);
        return;
      }
      this.#leadershipTransferee = null;
    }
    if (this.#heartbeatElapsed >= this.#config.heartbeatTicks) {
      this.#heartbeatElapsed = 0;
      for (const [peer, progress] of this.#progress) {
        this.#send({ type: 'heartbeat', from: this.#id, to: peer, term: this.#term, commit: Math.min(progress.matchIndex, this.#commit) });
      }
    }
  };

  #quorumActive(): boolean {
    const membership = this.#membership();
    let active = 0;
    for (const voter of membership.voters) {
      if (voter === this.#id) {
        active++;
        continue;
      }
      const progress = this.#progress.get(voter);
      if (progress !== undefined && progress.recentActive) active++;
    }
    for (const progress of this.#progress.values()) progress.recentActive = false;
    return active >= quorumSize(membership);
  }

  // ───────────────────────────── votes ─────────────────────────────

  #handleVoteRequest(message: PreVoteRequest | VoteRequest): void {
    const isPreVote = message.type === 'pre_vote_request';
    const responseType = isPreVote ? 'pre_vote_response' : 'vote_response';
    let canVote =
      this.#votedFor === message.from ||
      (this.#votedFor === null && this.#leaderId === null) ||
      (isPreVote && message.term > this.#term);
    if (!isPreVote && this.#bugs.doubleVote) canVote = true;
    // Election restriction (§5.4.1): the candidate's log must be at least as up to date.
    const upToDate =
      message.lastLogTerm > this.#log.lastTerm ||
      (message.lastLogTerm === this.#log.lastTerm && message.lastLogIndex >= this.#log.lastIndex);
    // Two nodes that time out together would grant each other's pre-vote, both stand, and split
    // the real vote: one more election timeout without a leader. Between pre-candidates of the
    // same term and the same log only the one with the smaller id grants, so only the other
    // stands. Pre-votes never bind anything; this changes who campaigns, never who may win.
    const concurrentPreCandidate =
      isPreVote && this.#role === 'pre_candidate' && message.term === this.#term + 1 &&
      message.lastLogTerm === this.#log.lastTerm && message.lastLogIndex === this.#log.lastIndex;
    const yieldsTo = !concurrentPreCandidate || message.from < this.#id;
    if (canVote && upToDate && yieldsTo && !this.#votingBlocked) {
      if (!isPreVote) {
        this.#electionElapsed = 0;
        this.#votedFor = message.from;
      }
      this.#send({ type: responseType, from: this.#id, to: message.from, term: message.term, granted: true });
    } else {
      this.#send({ type: responseType, from: this.#id, to: message.from, term: this.#term, granted: false });
      // A peer behind this node's log has lost the leader, and so has this node (its lease ran
      // out): the peer cannot win, so campaign now rather than wait out a whole timeout of our own.
      if (isPreVote && !upToDate && this.#role === 'follower' && !this.#inLease() && this.#promotable()) this.#campaign('pre_vote', false);
    }
  }

  // ───────────────────────────── per-role message handling ─────────────────────────────

  readonly #stepFollower = (message: Message): void => {
    switch (message.type) {
      case 'append_entries':
        this.#electionElapsed = 0;
        this.#leaderId = message.from;
        this.#handleAppendEntries(message);
        return;
      case 'heartbeat':
        this.#electionElapsed = 0;
        this.#leaderId = message.from;
        this.#handleHeartbeat(message);
        return;
      case 'install_snapshot':
        this.#electionElapsed = 0;
        this.#leaderId = message.from;
        this.#handleInstallSnapshot(message);
        return;
      case 'timeout_now':
        if (this.#promotable()) this.#campaign('election', true);
        return;
      case 'pre_vote_request':
      case 'vote_request':
      case 'pre_vote_response':
      case 'vote_response':
      case 'append_response':
      case 'heartbeat_response':
      case 'install_snapshot_response':
        return;
      default: {
        const _exhaustive: never = message;
        return _exhaustive;
      }
    }
  };

  readonly #stepCandidate = (message: Message): void => {
    switch (message.type) {
      case 'pre_vote_response':
      case 'vote_response':
        this.#handleVoteResponse(message);
        return;
      case 'append_entries':
      case 'heartbeat':
      case 'install_snapshot':
        // A leader of our term exists (§5.2): return to follower and take the message.
        this.#becomeFollower(message.term, message.from);
        this.#stepFollower(message);
        return;
      case 'timeout_now':
      case 'pre_vote_request':
      case 'vote_request':
      case 'append_response':
      case 'heartbeat_response':
      case 'install_snapshot_response':
        return;
      default: {
        const _exhaustive: never = message;
        return _exhaustive;
      }
    }
  };

  readonly #stepLeader = (message: Message): void => {
    switch (message.type) {
      case 'append_response':
        this.#handleAppendResponse(message);
        return;
      case 'heartbeat_response':
        this.#handleHeartbeatResponse(message);
        return;
      case 'install_snapshot_response':
        this.#handleInstallSnapshotResponse(message);
        return;
      case 'append_entries':
      case 'heartbeat':
      case 'install_snapshot':
      case 'timeout_now':
      case 'pre_vote_request':
      case 'vote_request':
      case 'pre_vote_response':
      case 'vote_response':
        return;
      default: {
        const _exhaustive: never = message;
        return _exhaustive;
      }
    }
  };

  #handleVoteResponse(message: VoteResponse): void {
    if (this.#role === 'pre_candidate') {
      if (message.type !== 'pre_vote_response') return;
      if (message.granted ? message.term !== this.#term + 1 : message.term !== this.#term) return;
    } else {
      if (message.type !== 'vote_response' || message.term !== this.#term) return;
    }
    this.#votes.set(message.from, message.granted);
    this.#tallyVotes();
  }

  // ───────────────────────────── follower side of replication ─────────────────────────────

  #handleAppendEntries(message: AppendEntries): void {
    if (this.#votingBlocked && this.#joinFloor === undefined) this.#setJoinFloor(message.commit);
    let prevLogIndex = message.prevLogIndex;
    let prevLogTerm = message.prevLogTerm;
    let entries = message.entries;
    if (prevLogIndex < this.#commit) {
      // Everything up to our commit index matches the leader (Leader Completeness, §5.4).
      const skip = this.#commit - prevLogIndex;
      if (skip >= entries.length) {
        this.#respondAppend(message.from, true, this.#commit, 0, 0, 0);
        return;
      }
      entries = entries.slice(skip);
      prevLogIndex = this.#commit;
      prevLogTerm = this.#log.term(prevLogIndex)!;
      assert.equal(entries[0]!.index, prevLogIndex + 1);
    }
    if (this.#log.term(prevLogIndex) !== prevLogTerm) {
      // Log Matching (§5.3) fails: reject with hints for fast backtracking.
      if (prevLogIndex > this.#log.lastIndex) {
        this.#respondAppend(message.from, false, 0, prevLogIndex, 0, this.#log.lastIndex + 1);
      } else {
        const conflictTerm = this.#log.term(prevLogIndex)!;
        const conflictIndex = Math.max(this.#log.firstIndexOfTermAt(prevLogIndex), this.#commit + 1);
        this.#respondAppend(message.from, false, 0, prevLogIndex, conflictTerm, conflictIndex);
      }
      return;
    }
    if (entries.length > 0) {
      const conflict = this.#log.findConflict(entries);
      if (conflict !== 0) {
        assert(conflict > this.#commit, `conflicting entry ${conflict} at or below the commit index ${this.#commit}`);
        const newEntries = entries.slice(conflict - entries[0]!.index);
        if (conflict <= this.#log.lastIndex) this.#truncateLocal(conflict);
        this.#appendLocal(newEntries);
      }
    }
    const lastNewIndex = prevLogIndex + entries.length;
    this.#leaderVerifiedIndex = Math.max(this.#leaderVerifiedIndex, lastNewIndex);
    this.#commitTo(Math.min(message.commit, lastNewIndex));
    this.#respondAppend(message.from, true, lastNewIndex, 0, 0, 0);
  }

  #respondAppend(to: string, success: boolean, matchIndex: number, rejectedIndex: number, conflictTerm: number, conflictIndex: number): void {
    this.#send({ type: 'append_response', from: this.#id, to, term: this.#term, success, matchIndex, rejectedIndex, conflictTerm, conflictIndex });
  }

  #handleHeartbeat(message: Heartbeat): void {
    this.#commitTo(Math.min(message.commit, this.#leaderVerifiedIndex));
    this.#send({ type: 'heartbeat_response', from: this.#id, to: message.from, term: this.#term, commit: this.#commit });
  }

  #handleInstallSnapshot(message: InstallSnapshot): void {
    const { index, term } = message.metadata;
    let incoming = this.#incomingSnapshot;
    if (incoming === undefined || incoming.index !== index || incoming.term !== term) {
      incoming = message.offset === 0 ? { index, term, chunks: [], receivedBytes: 0 } : undefined;
      this.#incomingSnapshot = incoming;
    }
    if (incoming === undefined || message.offset !== incoming.receivedBytes) {
      this.#respondSnapshot(message.from, index, incoming?.receivedBytes ?? 0, false);
      return;
    }
    incoming.chunks.push(message.chunk);
    incoming.receivedBytes += message.chunk.length;
    if (!message.done) {
      this.#respondSnapshot(message.from, index, incoming.receivedBytes, false);
      return;
    }
    this.#incomingSnapshot = undefined;
    if (this.#votingBlocked && this.#joinFloor === undefined) this.#setJoinFloor(index);
    if (index > this.#commit) {
      if (this.#log.term(index) === term) {
        // We hold the snapshot's last entry: our log already matches the leader up to it.
        this.#leaderVerifiedIndex = Math.max(this.#leaderVerifiedIndex, index);
        this.#commitTo(index);
      } else {
        const data = concatenate(incoming.chunks, incoming.receivedBytes);
        const snapshot: Snapshot = { metadata: message.metadata, data };
        this.#log.reset(index, term);
        this.#stableIndex = index;
        this.#commit = index;
        this.#leaderVerifiedIndex = index;
        this.#snapshot = snapshot;
        this.#pendingSnapshot = snapshot;
        this.#membershipPoints = [{ index, membership: message.metadata.membership }];
        this.#checkVotingUnblocked(message.metadata.membership, null, index);
      }
    }
    this.#respondSnapshot(message.from, index, incoming.receivedBytes, true);
  }

  #respondSnapshot(to: string, snapshotIndex: number, nextOffset: number, done: boolean): void {
    this.#send({ type: 'install_snapshot_response', from: this.#id, to, term: this.#term, snapshotIndex, nextOffset, done });
  }

  // ───────────────────────────── leader side of replication ─────────────────────────────

  #handleAppendResponse(message: AppendResponse): void {
    const progress = this.#progress.get(message.from);
    if (progress === undefined) return;
    progress.recentActive = true;
    if (message.success) {
      if (progress.acknowledge(message.matchIndex)) {
        if (progress.state === 'probe') progress.becomeReplicate();
        this.#maybeCommit();
      } else if (progress.state === 'probe') {
        progress.probeSent = false;
      }
      if (this.#role !== 'leader') return;
      if (message.from === this.#leadershipTransferee && progress.matchIndex === this.#log.lastIndex) {
        this.#sendTimeoutNow(message.from);
      }
      this.#maybeSendAppend(message.from, progress, false);
      return;
    }
    if (message.rejectedIndex === 0) return; // a rejection from a higher term carries no hints
    // Ignore stale rejections.
    if (progress.state === 'replicate' && message.rejectedIndex <= progress.matchIndex) return;
    if (progress.state === 'probe' && message.rejectedIndex !== progress.nextIndex - 1) return;
    if (progress.state === 'snapshot') return;
    if (message.conflictTerm === 0 && message.conflictIndex <= progress.matchIndex) {
      // The follower lost entries it acknowledged (a wiped disk): believe its log.
      progress.matchIndex = message.conflictIndex - 1;
    }
    let nextIndex = message.conflictIndex;
    if (message.conflictTerm > 0) {
      const last = this.#log.lastIndexOfTerm(message.conflictTerm, message.rejectedIndex);
      if (last > 0) nextIndex = last + 1;
    }
    progress.nextIndex = Math.max(Math.min(nextIndex, message.rejectedIndex), progress.matchIndex + 1);
    progress.becomeProbe();
    this.#maybeSendAppend(message.from, progress, true);
  }

  #handleHeartbeatResponse(message: HeartbeatResponse): void {
    const progress = this.#progress.get(message.from);
    if (progress === undefined) return;
    progress.recentActive = true;
    if (progress.state === 'snapshot') {
      this.#sendSnapshotChunk(message.from, progress);
      return;
    }
    if (progress.state === 'probe') progress.probeSent = false;
    if (progress.matchIndex < this.#log.lastIndex || message.commit < this.#commit) {
      if (progress.state === 'replicate' && progress.inflight.length >= this.#config.inflightMessagesMax) {
        // The pipeline stalled (lost messages): resend from the acknowledged point.
        progress.becomeProbe();
        progress.nextIndex = progress.matchIndex + 1;
      }
      this.#maybeSendAppend(message.from, progress, true);
    }
  }

  #handleInstallSnapshotResponse(message: InstallSnapshotResponse): void {
    const progress = this.#progress.get(message.from);
    if (progress === undefined) return;
    progress.recentActive = true;
    if (progress.state !== 'snapshot' || message.snapshotIndex !== progress.snapshotIndex) return;
    if (message.done) {
      progress.acknowledge(message.snapshotIndex);
      progress.nextIndex = Math.max(progress.nextIndex, progress.matchIndex + 1);
      progress.becomeProbe();
      this.#maybeCommit();
      if (this.#role === 'leader') this.#maybeSendAppend(message.from, progress, false);
      return;
    }
    progress.snapshotOffset = message.nextOffset;
    this.#sendSnapshotChunk(message.from, progress);
  }

  #broadcastAppend(): void {
    for (const [peer, progress] of this.#progress) this.#maybeSendAppend(peer, progress, false);
  }

  #maybeSendAppend(peer: string, progress: Progress, sendIfEmpty: boolean): void {
    const inflightMax = this.#config.inflightMessagesMax;
    for (let sent = 0; sent < inflightMax; sent++) {
      if (progress.state === 'snapshot') return;
      if (progress.state === 'probe' && progress.probeSent) return;
      if (progress.state === 'replicate' && progress.inflight.length >= inflightMax) return;
      const prevLogIndex = progress.nextIndex - 1;
      const prevLogTerm = this.#log.term(prevLogIndex);
      if (prevLogTerm === undefined) {
        this.#startSnapshot(peer, progress);
        return;
      }
      const entries = progress.nextIndex <= this.#log.lastIndex
        ? this.#log.slice(progress.nextIndex, this.#log.lastIndex, this.#config.entriesPerMessageMax, this.#config.bytesPerMessageMax)
        : [];
      if (entries.length === 0 && !sendIfEmpty) return;
      const message: AppendEntries = {
        type: 'append_entries', from: this.#id, to: peer, term: this.#term,
        prevLogIndex, prevLogTerm, entries, commit: this.#commit,
      };
      this.#messages.push(message);
      if (progress.state === 'replicate' && entries.length > 0) {
        const last = entries[entries.length - 1]!.index;
        progress.nextIndex = last + 1;
        progress.inflight.push(last);
      } else if (progress.state === 'probe') {
        progress.probeSent = true;
      }
      if (entries.length === 0) return;
      sendIfEmpty = false;
    }
  }

  #startSnapshot(peer: string, progress: Progress): void {
    const snapshot = this.#snapshot;
    assert(snapshot !== undefined, 'log compacted without a snapshot');
    progress.becomeSnapshot(snapshot.metadata.index, snapshot.metadata.term);
    this.#sendSnapshotChunk(peer, progress);
  }

  #sendSnapshotChunk(peer: string, progress: Progress): void {
    const snapshot = this.#snapshot;
    assert(snapshot !== undefined);
    if (snapshot.metadata.index !== progress.snapshotIndex) {
      progress.becomeSnapshot(snapshot.metadata.index, snapshot.metadata.term);
    }
    const offset = Math.min(progress.snapshotOffset, snapshot.data.length);
    const end = Math.min(offset + this.#config.snapshotChunkBytesMax, snapshot.data.length);
    this.#send({
      type: 'install_snapshot', from: this.#id, to: peer, term: this.#term,
      metadata: snapshot.metadata, offset, chunk: snapshot.data.subarray(offset, end), done: end === snapshot.data.length,
    });
  }

  #sendTimeoutNow(to: string): void {
    this.#send({ type: 'timeout_now', from: this.#id, to, term: this.#term });
  }

  /** Commit rule (§5.3, §5.4.2): a quorum stores the entry and it is of the current term. */
  #maybeCommit(): void {
    assert(this.#role === 'leader');
    const membership = this.#membership();
    const matches = this.#quorumScratch;
    matches.length = 0;
    for (const voter of membership.voters) {
      if (voter === this.#id) matches.push(this.#stableIndex);
      else matches.push(this.#progress.get(voter)?.matchIndex ?? 0);
    }
    if (matches.length === 0) return;
    matches.sort((a, b) => b - a);
    const candidate = matches[quorumSize(membership) - 1]!;
    if (candidate <= this.#commit) return;
    if (!this.#bugs.commitPreviousTermByCounting && this.#log.term(candidate) !== this.#term) return;
    this.#commitTo(candidate);
    // A leader removed from the voters steps down once its removal committed (thesis §4.2.2).
    if (!isVoter(this.#membership(), this.#id)) {
      const lastChange = this.#membershipPoints[this.#membershipPoints.length - 1]!;
      if (this.#commit >= lastChange.index) this.#becomeFollower(this.#term, null);
    }
  }

  #commitTo(index: number): void {
    if (index <= this.#commit) return;
    assert(index <= this.#log.lastIndex, `commit ${index} beyond the last index ${this.#log.lastIndex}`);
    this.#commit = index;
  }

  // ───────────────────────────── log and membership bookkeeping ─────────────────────────────

  #appendLocal(entries: readonly Entry[]): void {
    this.#log.append(entries);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.kind === 'membership') this.#recordMembershipEntry(entry, true);
    }
  }

  #truncateLocal(from: number): void {
    assert(from > this.#commit, 'never truncate committed entries');
    this.#log.truncateFrom(from);
    this.#stableIndex = Math.min(this.#stableIndex, from - 1);
    while (this.#membershipPoints.length > 1 && this.#membershipPoints[this.#membershipPoints.length - 1]!.index >= from) {
      this.#membershipPoints.pop();
    }
    for (const index of this.#barrierEntries.keys()) {
      if (index >= from) this.#failBarrierEntry(index);
    }
  }

  #recordMembershipEntry(entry: Entry, live: boolean): void {
    const decoded = decodeMembershipEntry(entry.data);
    this.#membershipPoints.push({ index: entry.index, membership: decoded.membership });
    if (live) this.#checkVotingUnblocked(decoded.membership, decoded.change, entry.index);
    if (this.#role === 'leader') this.#syncProgressWithMembership();
  }

  /**
   * A `join` node may vote once it appends its own promotion, or installs a snapshot listing it as
   * a voter, at an index above its join floor: a promotion decided after it joined, so after the
   * operator re-added it (a wiped node holds no memory of the votes it cast before).
   */
  #checkVotingUnblocked(membership: Membership, change: MembershipChange | null, index: number): void {
    if (!this.#votingBlocked || this.#joinFloor === undefined || index <= this.#joinFloor) return;
    if (!isVoter(membership, this.#id)) return;
    if (change === null || (change.type === 'promote' && change.data.nodeId === this.#id)) {
      this.#votingBlocked = false;
      this.#votingUnblocked = true;
    }
  }

  #setJoinFloor(index: number): void {
    this.#joinFloor = index;
    this.#joinFloorToPersist = index;
  }

  #syncProgressWithMembership(): void {
    const membership = this.#membership();
    for (const member of [...membership.voters, ...membership.learners]) {
      if (member !== this.#id && !this.#progress.has(member)) this.#progress.set(member, new Progress(this.#log.lastIndex + 1));
    }
    for (const peer of [...this.#progress.keys()]) {
      if (!isMember(membership, peer)) {
        this.#progress.delete(peer);
        if (this.#leadershipTransferee === peer) this.#leadershipTransferee = null;
      }
    }
  }

  #membership(): Membership {
    return this.#membershipPoints[this.#membershipPoints.length - 1]!.membership;
  }

  #membershipAt(index: number): Membership {
    for (let i = this.#membershipPoints.length - 1; i >= 0; i--) {
      const point = this.#membershipPoints[i]!;
      if (point.index <= index) return point.membership;
    }
    assert.fail(`no membership known at index ${index}`);
  }

  #pruneMembershipPoints(compactTo: number): void {
    let keepFrom = 0;
    for (let i = 0; i < this.#membershipPoints.length; i++) {
      if (this.#membershipPoints[i]!.index <= compactTo) keepFrom = i;
    }
    this.#membershipPoints = this.#membershipPoints.slice(keepFrom);
  }

  #promotable(): boolean {
    return !this.#votingBlocked && isVoter(this.#membership(), this.#id);
  }

  #refuseProposal(): ProposeError | undefined {
    if (this.#role !== 'leader') return { code: 'not_leader', leaderId: this.#leaderId };
    if (this.#leadershipTransferee !== null) return { code: 'leadership_transfer_in_progress' };
    return undefined;
  }

  // ───────────────────────────── barriers ─────────────────────────────

  #flushBarriers(): void {
    if (this.#barriersWaiting.length === 0) return;
    assert.equal(this.#role, 'leader', 'waiting barriers only exist on a leader');
    const index = this.#log.lastIndex + 1;
    this.#appendLocal([{ index, term: this.#term, kind: 'noop', data: emptyData }]);
    this.#barrierEntries.set(index, { term: this.#term, barrierIds: this.#barriersWaiting });
    this.#barriersWaiting = [];
    this.#broadcastAppend();
  }

  #takeBarrierResolutions(committedEntries: readonly Entry[], appliedAfter: number): BarrierResolution[] {
    const resolved: BarrierResolution[] = [];
    if (this.#barrierEntries.size > 0 && committedEntries.length > 0) {
      const last = committedEntries[committedEntries.length - 1]!.index;
      const first = committedEntries[0]!.index;
      for (const [index, pending] of this.#barrierEntries) {
        if (index < first || index > last) continue;
        const entry = committedEntries[index - first]!;
        this.#barrierEntries.delete(index);
        if (entry.term === pending.term) resolved.push({ barrierIds: pending.barrierIds, index });
        else this.#barriersFailed.push(...pending.barrierIds);
      }
    }
    if (this.#barrierResolutions.length > 0) {
      const keep: BarrierResolution[] = [];
      for (const resolution of this.#barrierResolutions) {
        if (resolution.index <= appliedAfter) resolved.push(resolution);
        else keep.push(resolution);
      }
      this.#barrierResolutions = keep;
    }
    return resolved;
  }

  #failBarrierEntry(index: number): void {
    const pending = this.#barrierEntries.get(index);
    if (pending === undefined) return;
    this.#barrierEntries.delete(index);
    this.#barriersFailed.push(...pending.barrierIds);
  }

  #failAllBarriers(): void {
    this.#barriersFailed.push(...this.#barriersWaiting);
    this.#barriersWaiting = [];
    for (const pending of this.#barrierEntries.values()) this.#barriersFailed.push(...pending.barrierIds);
    this.#barrierEntries.clear();
    for (const resolution of this.#barrierResolutions) this.#barriersFailed.push(...resolution.barrierIds);
    this.#barrierResolutions = [];
  }

  // ───────────────────────────── output helpers ─────────────────────────────

  #send(message: Message): void {
    this.#messages.push(message);
  }

  #hardStateToPersist(): HardState | undefined {
    const votedFor = this.#bugs.forgetToPersistVote ? null : this.#votedFor;
    const persisted = this.#persistedHardState;
    if (persisted.term === this.#term && persisted.votedFor === votedFor && persisted.commit === this.#commit) return undefined;
    assert(this.#term >= persisted.term, 'term never regresses');
    assert(this.#commit >= persisted.commit, 'commit never regresses');
    return { term: this.#term, votedFor, commit: this.#commit };
  }

  #softStateChanged(): SoftState | undefined {
    const last = this.#lastSoftState;
    if (last.role === this.#role && last.leaderId === this.#leaderId && last.term === this.#term) return undefined;
    return { role: this.#role, leaderId: this.#leaderId, term: this.#term };
  }

  #resetRandomizedElectionTicks(): void {
    const { electionTicksMin, electionTicksMax } = this.#config;
    const draw = this.#config.random();
    assert(draw >= 0 && draw < 1, 'random() must return a number in [0, 1)');
    this.#randomizedElectionTicks = electionTicksMin + Math.floor(draw * (electionTicksMax - electionTicksMin + 1));
  }
}

function concatenate(chunks: readonly Uint8Array[], totalBytes: number): Uint8Array {
  const data = new Uint8Array(totalBytes);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.length;
  }
  return data;
}
