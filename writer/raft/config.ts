// Configuration of a RaftNode, validated at construction (etcd's Config.validate()).

import type { InjectedBugs } from './injected-bugs.ts';
import type { PersistentState } from './persistent-state.ts';
import { RaftConfigError } from './raft-error.ts';

/**
 * How the node starts:
 * - `bootstrap`: a brand-new cluster; every node is given the same initial voters.
 * - `restore`: restart from what the node persisted.
 * - `join`: an empty disk on a node that is NOT bootstrapping (a new node, or one whose disk was
 *   wiped). It holds no memory of votes it may have cast, so it neither campaigns nor grants votes
 *   until it appends its own promotion (or installs a snapshot listing it as a voter) at an index
 *   above the leader's commit index when it first heard from a leader — i.e. a promotion decided
 *   after it joined. Operator procedure for a wiped node: start it with `join`, remove it, add it
 *   as a learner, let it catch up, promote it. (Residual risk: a promotion of the old
 *   incarnation that was still uncommitted when the node first heard from the leader.) The shell
 *   keeps using `join` on restarts, with the `joinFloor` a Ready reported, until a Ready reported
 *   `votingUnblocked`.
 */
export type RaftStart =
  | { type: 'bootstrap'; data: { voters: readonly string[] } }
  | { type: 'restore'; data: PersistentState }
  | { type: 'join'; data: { persisted?: PersistentState; joinFloor?: number } };

export interface RaftNodeConfig {
  readonly id: string;
  readonly start: RaftStart;
  /** Election timeout range in ticks; each timeout is drawn from [min, max]. */
  readonly electionTicksMin: number;
  readonly electionTicksMax: number;
  readonly heartbeatTicks: number;
  readonly entriesPerMessageMax: number;
  readonly bytesPerMessageMax: number;
  /** AppendEntries messages in flight per follower while replicating (pipelining). */
  readonly inflightMessagesMax: number;
  readonly snapshotChunkBytesMax: number;
  /** Entries one propose() call may carry. */
  readonly entriesPerProposalMax?: number;
  /** Committed entries handed out per Ready. */
  readonly committedEntriesPerReadyMax?: number;
  /** Seeded PRNG in [0, 1). */
  readonly random: () => number;
  readonly bugs?: Partial<InjectedBugs>;
}

function positiveInteger(value: number, field: string): RaftConfigError | undefined {
  if (!Number.isSafeInteger(value) || value < 1) return new RaftConfigError(field, 'must be a positive integer');
  return undefined;
}

export function validateRaftConfig(config: RaftNodeConfig): RaftConfigError | undefined {
  if (typeof config.id !== 'string' || config.id.length === 0) return new RaftConfigError('id', 'must be a non-empty string');
  const numeric: [number | undefined, string][] = [
    [config.electionTicksMin, 'electionTicksMin'],
    [config.electionTicksMax, 'electionTicksMax'],
    [config.heartbeatTicks, 'heartbeatTicks'],
    [config.entriesPerMessageMax, 'entriesPerMessageMax'],
    [config.bytesPerMessageMax, 'bytesPerMessageMax'],
    [config.inflightMessagesMax, 'inflightMessagesMax'],
    [config.snapshotChunkBytesMax, 'snapshotChunkBytesMax'],
    [config.entriesPerProposalMax, 'entriesPerProposalMax'],
    [config.committedEntriesPerReadyMax, 'committedEntriesPerReadyMax'],
  ];
  for (const [value, field] of numeric) {
    if (value === undefined && (field === 'entriesPerProposalMax' || field === 'committedEntriesPerReadyMax')) continue;
    const error = positiveInteger(value ?? Number.NaN, field);
    if (error !== undefined) return error;
  }
  if (config.electionTicksMax < config.electionTicksMin) {
    return new RaftConfigError('electionTicksMax', 'must be at least electionTicksMin');
  }
  if (config.heartbeatTicks >= config.electionTicksMin) {
    return new RaftConfigError('heartbeatTicks', 'must be below electionTicksMin');
  }
  if (typeof config.random !== 'function') return new RaftConfigError('random', 'must be a function');
  const start = config.start;
  if (start.type === 'bootstrap') {
    const voters = start.data.voters;
    if (voters.length === 0) return new RaftConfigError('start.data.voters', 'must not be empty');
    if (!voters.includes(config.id)) return new RaftConfigError('start.data.voters', 'must include the node id');
    if (new Set(voters).size !== voters.length) return new RaftConfigError('start.data.voters', 'must not repeat ids');
  } else if (start.type === 'restore') {
    const { hardState, entries } = start.data;
    if (!Number.isSafeInteger(hardState.term) || hardState.term < 0) return new RaftConfigError('start.data.hardState.term', 'must be a non-negative integer');
    if (!Number.isSafeInteger(hardState.commit) || hardState.commit < 0) return new RaftConfigError('start.data.hardState.commit', 'must be a non-negative integer');
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.index !== entries[i - 1]!.index + 1) return new RaftConfigError('start.data.entries', 'must be contiguous');
    }
  } else if (start.type !== 'join') {
    return new RaftConfigError('start.type', 'must be bootstrap, restore or join');
  }
  return undefined;
}
