// What an operator asks about the log disk at 3 a.m.: how often we fsync, how long it takes, how
// much we write. `RaftStorage.stats` is one mutable object the shell reads (e.g. on /metrics);
// `onFsync` lets it feed a histogram as well.

export type FsyncTarget = 'log' | 'directory' | 'snapshot' | 'identity';

export interface StorageStats {
  /** Every fsync/fdatasync, whatever its target. */
  fsyncCount: number;
  /** fdatasyncs of log segments: one per persist() call that wrote anything (group commit). */
  logFsyncCount: number;
  fsyncMsTotal: number;
  fsyncMsMax: number;
  lastFsyncMs: number;
  persistCount: number;
  entriesWritten: number;
  logBytesWritten: number;
  snapshotsWritten: number;
  segmentsCreated: number;
  segmentsDeleted: number;
}

export function emptyStorageStats(): StorageStats {
  return {
    fsyncCount: 0,
    logFsyncCount: 0,
    fsyncMsTotal: 0,
    fsyncMsMax: 0,
    lastFsyncMs: 0,
    persistCount: 0,
    entriesWritten: 0,
    logBytesWritten: 0,
    snapshotsWritten: 0,
    segmentsCreated: 0,
    segmentsDeleted: 0,
  };
}

export type FsyncObserver = (durationMs: number, target: FsyncTarget) => void;
