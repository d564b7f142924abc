// Why a data directory cannot be opened: typed values with stable snake_case codes, each with an
// operator-facing message naming the file (and offset) at fault. The node must refuse to start on
// any of them: a replicated system must not limp on with corrupt or foreign state.

export type StorageError =
  /** A bad record that is not a torn tail: valid records follow it, or it is in an older segment. */
  | { readonly code: 'log_corrupt'; readonly file: string; readonly offset: number; readonly message: string }
  /** Entries are missing: between two segments, inside one, or between the snapshot and the log. */
  | { readonly code: 'log_gap'; readonly file: string; readonly offset: number; readonly message: string }
  /** The hard state's commit index points past everything the log and snapshot hold. */
  | { readonly code: 'commit_beyond_log'; readonly file: string; readonly message: string }
  /** No usable snapshot and the log does not reach back far enough to replace it. */
  | { readonly code: 'snapshot_corrupt'; readonly file: string; readonly message: string }
  | { readonly code: 'identity_mismatch'; readonly file: string; readonly message: string }
  | { readonly code: 'identity_corrupt'; readonly file: string; readonly message: string }
  | { readonly code: 'invalid_options'; readonly field: string; readonly message: string };

export type StorageErrorCode = StorageError['code'];
