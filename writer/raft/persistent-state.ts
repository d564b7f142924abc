// What a node persists and is restarted from (Raft Figure 2: currentTerm, votedFor, log[]), plus
// the commit index and the latest snapshot.

import type { Entry } from './entry.ts';
import type { Snapshot } from './message.ts';

export interface HardState {
  readonly term: number;
  readonly votedFor: string | null;
  readonly commit: number;
}

export const initialHardState: HardState = { term: 0, votedFor: null, commit: 0 };

export interface PersistentState {
  readonly hardState: HardState;
  /** The latest snapshot the node persisted (its own from compact(), or one received from a leader). */
  readonly snapshot: Snapshot | undefined;
  /** Persisted entries, contiguous. Entries at or below the snapshot's index are ignored. */
  readonly entries: readonly Entry[];
  /** Index the application state already reflects (default: the snapshot's index). */
  readonly appliedIndex?: number;
}
