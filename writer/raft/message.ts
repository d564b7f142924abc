// Messages exchanged between Raft nodes. Plain objects with a `type` discriminant so the
// transport can frame them with message-codec.ts. Every message carries the sender's term.

import type { Entry } from './entry.ts';
import type { Membership } from './membership.ts';

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly membership: Membership;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

interface Envelope {
  readonly from: string;
  readonly to: string;
  readonly term: number;
}

/** Pre-vote (thesis §9.6): `term` is the term the sender would campaign for; nobody's term moves. */
export interface PreVoteRequest extends Envelope {
  readonly type: 'pre_vote_request';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}

export interface VoteRequest extends Envelope {
  readonly type: 'vote_request';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Sent after TimeoutNow (thesis §3.10): voters ignore their leader lease for it. */
  readonly leadershipTransfer: boolean;
}

export interface VoteResponse extends Envelope {
  readonly type: 'pre_vote_response' | 'vote_response';
  readonly granted: boolean;
}

export interface AppendEntries extends Envelope {
  readonly type: 'append_entries';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendResponse extends Envelope {
  readonly type: 'append_response';
  readonly success: boolean;
  /** On success: the last index known to match the leader. */
  readonly matchIndex: number;
  /** On rejection: the prevLogIndex that did not match. */
  readonly rejectedIndex: number;
  /** Fast backtracking hints (§5.3): the follower's term at rejectedIndex (0 if its log is shorter)… */
  readonly conflictTerm: number;
  /** …and the first index the follower holds with conflictTerm (or its lastIndex + 1). */
  readonly conflictIndex: number;
}

export interface Heartbeat extends Envelope {
  readonly type: 'heartbeat';
  /** min(follower's match, leader's commit): safe for the follower to commit. */
  readonly commit: number;
}

export interface HeartbeatResponse extends Envelope {
  readonly type: 'heartbeat_response';
  /** The follower's commit index: a leader seeing it lag sends an AppendEntries to verify. */
  readonly commit: number;
}

export interface InstallSnapshot extends Envelope {
  readonly type: 'install_snapshot';
  readonly metadata: SnapshotMetadata;
  readonly offset: number;
  readonly chunk: Uint8Array;
  readonly done: boolean;
}

export interface InstallSnapshotResponse extends Envelope {
  readonly type: 'install_snapshot_response';
  readonly snapshotIndex: number;
  /** The next byte offset the follower expects (where the leader continues). */
  readonly nextOffset: number;
  readonly done: boolean;
}

/** Leadership transfer (thesis §3.10): the target starts an election at once. */
export interface TimeoutNow extends Envelope {
  readonly type: 'timeout_now';
}

export type Message =
  | PreVoteRequest
  | VoteRequest
  | VoteResponse
  | AppendEntries
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | InstallSnapshot
  | InstallSnapshotResponse
  | TimeoutNow;

export type MessageType = Message['type'];
