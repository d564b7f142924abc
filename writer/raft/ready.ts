// The output of the Raft core (etcd's Ready): everything the shell must do, in this order:
//   1. persist `snapshot` (if any; it replaces the whole persisted log), then `entries`
//      (replacing any persisted entry at an index >= entries[0].index), then `hardState` (if
//      any) — durably (fsync);
//   2. only then send `messages` (votes and append acknowledgements promise persisted state);
//   3. restore the application from `snapshot` (if any), apply `committedEntries` in order, then
//      answer `barriersResolved` (their index is applied by then);
//   4. call `advance(ready)`.
// A leader's Ready may carry messages about entries it has not persisted yet (they come in its
// next Ready): the core splits them so the leader writes in parallel with its followers; see
// "A LEADER WRITES IN PARALLEL" in raft-node.ts.

import type { Entry } from './entry.ts';
import type { Message, Snapshot } from './message.ts';
import type { HardState } from './persistent-state.ts';

export type RaftRole = 'follower' | 'pre_candidate' | 'candidate' | 'leader';

export interface SoftState {
  readonly role: RaftRole;
  readonly leaderId: string | null;
  readonly term: number;
}

export interface BarrierResolution {
  readonly barrierIds: readonly number[];
  /** The barrier's no-op entry (or, for entries shared, the one entry) committed at this index. */
  readonly index: number;
}

export interface Ready {
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly barriersResolved: readonly BarrierResolution[];
  /** Barriers that will never resolve here (leadership lost): the reads must be retried. */
  readonly barriersFailed: readonly number[];
  /** Present when role, leader or term changed since the last Ready. */
  readonly softState: SoftState | undefined;
  /** Persisted entries at or below this index may be deleted (after compact()). */
  readonly compactedTo: number | undefined;
  /** The node appended its own promotion: a `join` node may vote from now on. */
  readonly votingUnblocked: boolean;
  /** A `join` node first heard from a leader: persist this and pass it back in `join` restarts. */
  readonly joinFloor: number | undefined;
}
