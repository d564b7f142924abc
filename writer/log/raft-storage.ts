// The writer's durable Raft log and snapshots: what the shell persists from each Ready before it
// sends anything, and what a restarted node is rebuilt from.
//
// LAYOUT of a data directory
//   node-identity.json                       cluster id, node id, created-at (node-identity.ts)
//   segment-<sequence>-<firstIndex>.log      append-only log segments (log-record.ts)
//   snapshot-<index>-<term>.snap             the newest two snapshots (snapshot-file.ts)
//
// DESIGN
// - One append-only stream of records holds entries AND hard states (the last hard state wins),
//   so one fdatasync per persist() call covers the entries and the vote/term/commit of a whole
//   Ready: group commit — the shell calls persist() once per Ready, covering every client request
//   batched into it.
// - Truncation is logical and needs no rewriting: a conflicting suffix from index i (or a log
//   replaced by a received snapshot) starts a NEW segment whose header says "first index i"; on
//   recovery, a segment header voids every earlier entry at or above its first index. The header
//   also repeats the hard state in force, so older segments can be deleted without losing it.
//   A snapshot that replaces the log starts a segment flagged "replaces the log": every earlier
//   entry is void (an old entry at the snapshot's index may have another term).
//   Segments made entirely void are deleted once the new one is durable.
// - Every persist() call ends its records with a batch-end record (giving the batch's length), so
//   recovery can tell the torn tail of the unacknowledged last write — even when some of its later
//   blocks reached the disk — from corruption of acknowledged data (log-recovery.ts).
// - A segment is rotated at the start of a persist() call once it holds `segmentBytesMax` bytes,
//   so each call writes to one file: one fdatasync (plus one directory fsync when the call created
//   the file, and the snapshot's own fsyncs when it carries a snapshot).
// - Snapshots: temporary name, fsync, rename, fsync the directory; the newest two are kept; a
//   corrupt newest one falls back to the previous one if the log still covers the gap.
// - Failures: expected ones at open (corruption, foreign directory) are returned as typed errors;
//   an I/O error while persisting throws — after a failed fsync the only safe move is to crash and
//   recover from what the disk holds.
//
// SHELL CONTRACT
//   const opened = RaftStorage.open(dir, { identity: { clusterId, nodeId } });
//   if (!opened.ok) exit with opened.error.message;
//   opened.fresh: the directory was missing or empty — the shell must not let this node vote
//   (join as a learner, or refuse to start); opened.identity is undefined until bootstrap().
//   Per Ready: storage.persist(ready) → send messages → apply → node.advance(ready).
//   After node.compact(...) returns a snapshot: storage.saveSnapshot(snapshot) BEFORE the Ready
//   carrying `compactedTo` is persisted (persist() compacts the log up to it).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Entry } from '../raft/entry.ts';
import type { Snapshot } from '../raft/message.ts';
import type { HardState, PersistentState } from '../raft/persistent-state.ts';
import type { Ready } from '../raft/ready.ts';
import { fsyncDirectory, temporarySuffix, writeFully, type TimedFsync } from './durable-file.ts';
import { LogRecordWriter } from './log-record.ts';
import { recoverLog, type SegmentState, type TornTail } from './log-recovery.ts';
import {
  checkIdentity,
  identityFileName,
  isNotFound,
  readIdentity,
  writeIdentity,
  type ExpectedIdentity,
  type NodeIdentity,
} from './node-identity.ts';
import { parseSegmentFileName, segmentFileName, type SegmentName } from './segment-name.ts';
import {
  compareSnapshotNamesNewestFirst,
  parseSnapshotFileName,
  readSnapshotFile,
  writeSnapshotFile,
  writeSnapshotFileAsync,
  type SnapshotFileName,
} from './snapshot-file.ts';
import type { StorageError } from './storage-error.ts';
import { emptyStorageStats, type FsyncObserver, type FsyncTarget, type StorageStats } from './storage-stats.ts';

export type { ExpectedIdentity, NodeIdentity } from './node-identity.ts';
export type { StorageError, StorageErrorCode } from './storage-error.ts';
export type { FsyncObserver, FsyncTarget, StorageStats } from './storage-stats.ts';
export type { TornTail } from './log-recovery.ts';

export const segmentBytesMaxDefault = 64 * 1024 * 1024;
/** Snapshots kept on disk: the newest, and one to fall back to if the newest is corrupt. */
export const snapshotsKeptMax = 2;
const corruptSuffix = '.corrupt';

/** pino-compatible. */
export interface StorageLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface RaftStorageOptions {
  /** Who this node is: a directory bootstrapped for another node or cluster is refused. */
  readonly identity: ExpectedIdentity;
  /** A segment is rotated once it holds this many bytes (default 64 MiB). */
  readonly segmentBytesMax?: number;
  readonly logger?: StorageLogger;
  /** Called after every fsync with its duration (e.g. to feed a histogram). */
  readonly onFsync?: FsyncObserver;
}

export interface RecoveryReport {
  readonly tornTail: TornTail | undefined;
  /** Leftovers of an atomic write interrupted before its rename (removed). */
  readonly temporaryFilesRemoved: readonly string[];
  /** Snapshots that failed their checksum or format check (renamed to *.corrupt). */
  readonly corruptSnapshots: readonly { readonly file: string; readonly reason: string }[];
  /** Entries after the snapshot that did not continue it (a crash while installing it): voided. */
  readonly entriesVoidedAfterSnapshot: number;
}

export type OpenResult =
  | {
      readonly ok: true;
      readonly storage: RaftStorage;
      /** What to construct the RaftNode from (`restore`, or `join` with it as `persisted`). */
      readonly state: PersistentState;
      /** The directory was missing or empty: no identity file, no segments, no snapshots. */
      readonly fresh: boolean;
      /** The identity file, checked against the options; undefined until bootstrap(). */
      readonly identity: NodeIdentity | undefined;
      readonly recovery: RecoveryReport;
    }
  | { readonly ok: false; readonly error: StorageError };

export type BootstrapResult = { readonly ok: true } | { readonly ok: false; readonly error: StorageError };

/** The parts of a Ready the storage persists. */
export type PersistableReady = Pick<Ready, 'snapshot' | 'entries' | 'hardState' | 'compactedTo'>;

const noLogger: StorageLogger = { info: () => {}, warn: () => {} };

export class RaftStorage {
  readonly #directory: string;
  readonly #segmentBytesMax: number;
  readonly #logger: StorageLogger;
  readonly #stats: StorageStats;
  readonly #fsync: TimedFsync;
  readonly #writer = new LogRecordWriter();
  /** In sequence order; the last one is the active segment (appended to). */
  readonly #segments: SegmentState[];
  #activeFd: number | undefined;
  #nextSequence: number;
  /** Index of the last live entry; the snapshot index when the log holds nothing after it. */
  #lastIndex: number;
  #hardState: HardState;
  /** Durable snapshots, newest first, at most `snapshotsKeptMax`. */
  #snapshots: SnapshotFileName[];
  #closed = false;
  #syncInFlight = false;
  readonly #onFsync: FsyncObserver | undefined;
  #snapshotWriteInFlight = false;

  private constructor(init: {
    directory: string;
    segmentBytesMax: number;
    logger: StorageLogger;
    stats: StorageStats;
    fsync: TimedFsync;
    onFsync: FsyncObserver | undefined;
    segments: SegmentState[];
    nextSequence: number;
    lastIndex: number;
    hardState: HardState;
    snapshots: SnapshotFileName[];
  }) {
    this.#directory = init.directory;
    this.#segmentBytesMax = init.segmentBytesMax;
    this.#logger = init.logger;
    this.#stats = init.stats;
    this.#fsync = init.fsync;
    this.#onFsync = init.onFsync;
    this.#segments = init.segments;
    this.#nextSequence = init.nextSequence;
    this.#lastIndex = init.lastIndex;
    this.#hardState = init.hardState;
    this.#snapshots = init.snapshots;
    const active = this.#segments[this.#segments.length - 1];
    this.#activeFd = active === undefined ? undefined : fs.openSync(path.join(this.#directory, active.name), 'r+');
  }

  /** Marks `directory` as this node's (creating it if needed); idempotent for the same identity. */
  static bootstrap(directory: string, identity: NodeIdentity, onFsync?: FsyncObserver): BootstrapResult {
    fs.mkdirSync(directory, { recursive: true });
    const existing = readIdentity(directory);
    if (!existing.ok) return existing;
    if (existing.identity !== undefined) {
      const mismatch = checkIdentity(path.join(directory, identityFileName), identity, existing.identity);
      return mismatch === undefined ? { ok: true } : { ok: false, error: mismatch };
    }
    writeIdentity(directory, identity, timedFsync(emptyStorageStats(), onFsync));
    return { ok: true };
  }

  /** Recovers the directory: torn tail cut, snapshot chosen, log replayed. Creates it if missing. */
  static open(directory: string, options: RaftStorageOptions): OpenResult {
    const segmentBytesMax = options.segmentBytesMax ?? segmentBytesMaxDefault;
    if (!Number.isSafeInteger(segmentBytesMax) || segmentBytesMax < 1) {
      return { ok: false, error: { code: 'invalid_options', field: 'segmentBytesMax', message: `segmentBytesMax must be a positive integer, got ${segmentBytesMax}` } };
    }
    const logger = options.logger ?? noLogger;
    const stats = emptyStorageStats();
    const fsync = timedFsync(stats, options.onFsync);
    fs.mkdirSync(directory, { recursive: true });

    // What is there.
    const temporaryFilesRemoved: string[] = [];
    const segmentNames: SegmentName[] = [];
    const snapshotNames: SnapshotFileName[] = [];
    let identityPresent = false;
    for (const name of fs.readdirSync(directory)) {
      if (name.endsWith(temporarySuffix)) {
        fs.unlinkSync(path.join(directory, name));
        temporaryFilesRemoved.push(name);
        continue;
      }
      if (name === identityFileName) identityPresent = true;
      const segment = parseSegmentFileName(name);
      if (segment !== undefined) segmentNames.push(segment);
      const snapshot = parseSnapshotFileName(name);
      if (snapshot !== undefined) snapshotNames.push(snapshot);
    }
    if (temporaryFilesRemoved.length > 0) {
      logger.info({ directory, files: temporaryFilesRemoved }, 'removed files of interrupted atomic writes');
    }
    const fresh = !identityPresent && segmentNames.length === 0 && snapshotNames.length === 0;
    segmentNames.sort((a, b) => a.sequence - b.sequence);
    snapshotNames.sort(compareSnapshotNamesNewestFirst);

    // Whose it is.
    const identityRead = readIdentity(directory);
    if (!identityRead.ok) return identityRead;
    if (identityRead.identity !== undefined) {
      const mismatch = checkIdentity(path.join(directory, identityFileName), options.identity, identityRead.identity);
      if (mismatch !== undefined) return { ok: false, error: mismatch };
    }

    // The log.
    const recovered = recoverLog(directory, segmentNames, fsync);
    if (!recovered.ok) return recovered;
    const { hardState, segments, tornTail } = recovered.log;
    let entries: Entry[] = recovered.log.entries;
    if (tornTail !== undefined) logger.warn({ ...tornTail }, 'truncated a torn tail of the log');

    // The snapshot, and the log after it.
    const chosen = chooseSnapshot(directory, snapshotNames, entries);
    if (!chosen.ok) return chosen;
    const snapshot = chosen.snapshot;
    const snapshotIndex = snapshot?.metadata.index ?? 0;
    let entriesVoidedAfterSnapshot = 0;
    const base = entries[0]?.index ?? snapshotIndex + 1;
    const atSnapshot = entries[snapshotIndex - base];
    if (snapshot !== undefined && atSnapshot !== undefined && atSnapshot.term !== snapshot.metadata.term) {
      // Crash after a received snapshot became durable but before the log reset did.
      entriesVoidedAfterSnapshot = Math.max(0, base + entries.length - 1 - snapshotIndex);
      entries = [];
    } else {
      entries = snapshotIndex >= base ? entries.slice(snapshotIndex - base + 1) : entries;
    }
    const lastIndex = entries.length > 0 ? entries[entries.length - 1]!.index : snapshotIndex;
    if (hardState.commit > lastIndex) {
      const file = segments[segments.length - 1]?.name ?? directory;
      return {
        ok: false,
        error: {
          code: 'commit_beyond_log',
          file: path.join(directory, file),
          message: `${directory}: the hard state's commit index ${hardState.commit} is beyond the last recovered index ${lastIndex}: committed entries are missing, refusing to start`,
        },
      };
    }
    for (const corrupt of chosen.corrupt) {
      fs.renameSync(path.join(directory, corrupt.file), path.join(directory, corrupt.file + corruptSuffix));
      logger.warn({ directory, ...corrupt }, 'snapshot is corrupt: renamed aside, using an older one');
    }

    const storage = new RaftStorage({
      directory,
      segmentBytesMax,
      logger,
      stats,
      fsync,
      onFsync: options.onFsync,
      segments,
      nextSequence: segmentNames.reduce((max, name) => Math.max(max, name.sequence), 0) + 1,
      lastIndex,
      hardState,
      snapshots: chosen.usable.slice(0, snapshotsKeptMax),
    });
    if (entriesVoidedAfterSnapshot > 0) {
      logger.warn({ directory, snapshotIndex, entries: entriesVoidedAfterSnapshot }, 'voided log entries that do not continue the snapshot');
      storage.#openSegment(snapshotIndex + 1, true);
      storage.#syncActive(true);
    } else if (snapshot !== undefined && (segments[segments.length - 1]?.liveLastIndex ?? 0) < snapshotIndex) {
      // The snapshot is ahead of the log on disk (a leader applies entries its followers made
      // durable before its own write of them finished, and may snapshot there; then it crashed).
      // New entries continue the snapshot, so they go to a segment that starts after it: appended
      // to the old segment they would leave a gap that recovery refuses.
      storage.#openSegment(snapshotIndex + 1, false);
      storage.#syncActive(true);
    }
    return {
      ok: true,
      storage,
      state: { hardState, snapshot, entries },
      fresh,
      identity: identityRead.identity,
      recovery: { tornTail, temporaryFilesRemoved, corruptSnapshots: chosen.corrupt, entriesVoidedAfterSnapshot },
    };
  }

  get stats(): Readonly<StorageStats> {
    return this.#stats;
  }

  get directory(): string {
    return this.#directory;
  }

  /** Index of the last persisted entry (the snapshot index when no entry follows it). */
  get lastIndex(): number {
    return this.#lastIndex;
  }

  /** Index of the newest durable snapshot (0 when none). */
  get snapshotIndex(): number {
    return this.#snapshots[0]?.index ?? 0;
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  /**
   * Durably persists a Ready's snapshot, entries (replacing any at or above entries[0].index) and
   * hard state, in that order, with one fdatasync of the log; then compacts to `compactedTo`.
   * Returns once everything is on stable storage: the shell may send the Ready's messages.
   */
  persist(ready: PersistableReady): void {
    const written = this.#write(ready);
    if (written.sync) this.#syncActive(written.created);
    this.#afterSync(ready, written.newSegmentFirstIndex);
  }

  /**
   * `persist()` with the log's fdatasync on the libuv thread pool, so the event loop keeps taking
   * requests (which join the next Ready) while the disk works. Resolves once everything is on
   * stable storage. Only one persist may be in flight (the Ready loop never asks for the next
   * Ready before this one is advanced).
   */
  async persistAsync(ready: PersistableReady): Promise<void> {
    assert(!this.#syncInFlight, 'persistAsync() while another persist is in flight');
    const written = this.#write(ready);
    if (written.sync) {
      this.#syncInFlight = true;
      try {
        await this.#syncActiveAsync(written.created);
      } finally {
        this.#syncInFlight = false;
      }
    }
    this.#afterSync(ready, written.newSegmentFirstIndex);
  }

  /** Writes (not yet durably) what a Ready asks for; says whether the active segment needs a sync. */
  #write(ready: PersistableReady): { sync: boolean; created: boolean; newSegmentFirstIndex: number | undefined } {
    assert(!this.#closed, 'persist() after close()');
    this.#stats.persistCount++;
    let newSegmentFirstIndex: number | undefined;
    const replacesLog = ready.snapshot !== undefined;
    if (ready.snapshot !== undefined) {
      // The core replaced its whole log by the snapshot (raft-node.ts, install_snapshot).
      this.#writeSnapshot(ready.snapshot);
      newSegmentFirstIndex = ready.snapshot.metadata.index + 1;
      this.#lastIndex = ready.snapshot.metadata.index;
    }
    const entries = ready.entries;
    const firstEntry = entries[0];
    if (firstEntry !== undefined) {
      assert(firstEntry.index >= 1 && firstEntry.index <= this.#lastIndex + 1,
        `entries from ${firstEntry.index} would leave a gap after the last index ${this.#lastIndex}`);
      if (firstEntry.index <= this.#lastIndex) newSegmentFirstIndex = firstEntry.index;
    }
    const active = this.#segments[this.#segments.length - 1];
    const writes = entries.length > 0 || ready.hardState !== undefined;
    if (newSegmentFirstIndex === undefined && writes && (active === undefined || active.bytes >= this.#segmentBytesMax)) {
      newSegmentFirstIndex = this.#lastIndex + 1;
    }

    if (newSegmentFirstIndex !== undefined) this.#openSegment(newSegmentFirstIndex, replacesLog);
    const writer = this.#writer;
    writer.clear();
    let previousIndex = firstEntry === undefined ? 0 : firstEntry.index - 1;
    for (const entry of entries) {
      assert(entry.index === previousIndex + 1, 'entries to persist must be contiguous');
      previousIndex = entry.index;
      writer.appendEntry(entry);
    }
    if (ready.hardState !== undefined) writer.appendHardState(ready.hardState);
    if (writer.length > 0) {
      writer.appendBatchEnd();
      this.#appendToActive(writer.bytes());
      if (firstEntry !== undefined) {
        const segment = this.#segments[this.#segments.length - 1]!;
        segment.lastIndex = previousIndex;
        segment.liveLastIndex = previousIndex;
        this.#lastIndex = previousIndex;
        this.#stats.entriesWritten += entries.length;
      }
    }
    // As etcd's MustSync: a hard state that only moves the commit index is written but not synced
    // on its own — a lower commit index after a crash is safe (the leader re-sends it), while a
    // term or vote must be durable before any message goes out. The next sync makes it durable.
    const hardStateMustSync = ready.hardState !== undefined
      && (ready.hardState.term !== this.#hardState.term || ready.hardState.votedFor !== this.#hardState.votedFor);
    const mustSync = entries.length > 0 || hardStateMustSync || ready.snapshot !== undefined || newSegmentFirstIndex !== undefined;
    return { sync: writer.length > 0 && mustSync || newSegmentFirstIndex !== undefined, created: newSegmentFirstIndex !== undefined, newSegmentFirstIndex };
  }

  /** What may happen only once the Ready's writes are durable. */
  #afterSync(ready: PersistableReady, newSegmentFirstIndex: number | undefined): void {
    if (ready.hardState !== undefined) this.#hardState = ready.hardState;

    // Only now that the new segment is durable may the segments it voided go.
    if (newSegmentFirstIndex !== undefined) this.#deleteSegments((segment) => segment.liveLastIndex < segment.firstIndex);
    if (ready.compactedTo !== undefined) this.compact(ready.compactedTo);
  }

  /** Persists the application's own snapshot (from RaftNode.compact()); older or equal ones are ignored. */
  saveSnapshot(snapshot: Snapshot): void {
    assert(!this.#closed, 'saveSnapshot() after close()');
    const newest = this.#snapshots[0];
    if (newest !== undefined && snapshot.metadata.index <= newest.index) return;
    this.#writeSnapshot(snapshot);
  }

  /**
   * `saveSnapshot` with the file's writes and fsync off the event loop (a large snapshot takes
   * long enough to stall heartbeats). Resolves once the snapshot is durable and registered; only
   * then may the log be compacted up to it. One at a time; persists may run meanwhile (they write
   * other files).
   */
  async saveSnapshotAsync(snapshot: Snapshot): Promise<void> {
    assert(!this.#closed, 'saveSnapshotAsync() after close()');
    assert(!this.#snapshotWriteInFlight, 'one snapshot write at a time');
    const newest = this.#snapshots[0];
    if (newest !== undefined && snapshot.metadata.index <= newest.index) return;
    this.#snapshotWriteInFlight = true;
    try {
      const name = await writeSnapshotFileAsync(this.#directory, snapshot, (handle) => this.#timedFsyncAsync('snapshot', () => handle.sync()), this.#fsync);
      if (this.#closed) return;
      // A newer snapshot (one the leader sent) may have become durable meanwhile: keep that one.
      const current = this.#snapshots[0];
      if (current !== undefined && current.index >= snapshot.metadata.index) {
        if (current.name !== name) fs.rmSync(path.join(this.#directory, name), { force: true });
        return;
      }
      this.#registerSnapshot(name, snapshot);
    } finally {
      this.#snapshotWriteInFlight = false;
    }
  }

  /**
   * Deletes whole segments whose live entries are all at or below `toIndex` (never the active
   * segment, never the one holding toIndex + 1). The snapshot covering `toIndex` must be durable.
   * Returns how many segments were deleted.
   */
  compact(toIndex: number): number {
    assert(!this.#closed, 'compact() after close()');
    assert(toIndex <= this.snapshotIndex, `compacting to ${toIndex} beyond the durable snapshot ${this.snapshotIndex}`);
    return this.#deleteSegments((segment) => segment.liveLastIndex <= toIndex);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#activeFd !== undefined) fs.closeSync(this.#activeFd);
    this.#activeFd = undefined;
  }

  // ───────────────────────────── internals ─────────────────────────────

  /** Starts a segment at `firstIndex` (voiding earlier entries at or above it, or all); not yet synced. */
  #openSegment(firstIndex: number, replacesLog: boolean): void {
    const sequence = this.#nextSequence++;
    const name = segmentFileName(sequence, firstIndex);
    if (this.#activeFd !== undefined) fs.closeSync(this.#activeFd);
    this.#activeFd = fs.openSync(path.join(this.#directory, name), 'wx');
    for (const segment of this.#segments) {
      segment.liveLastIndex = Math.min(segment.liveLastIndex, replacesLog ? segment.firstIndex - 1 : firstIndex - 1);
    }
    this.#segments.push({ name, sequence, firstIndex, lastIndex: firstIndex - 1, liveLastIndex: firstIndex - 1, bytes: 0 });
    this.#stats.segmentsCreated++;
    const writer = this.#writer;
    writer.clear();
    writer.appendSegmentHeader({ sequence, replacesLog, firstIndex, hardState: this.#hardState });
    this.#appendToActive(writer.bytes());
  }

  #appendToActive(bytes: Uint8Array): void {
    const segment = this.#segments[this.#segments.length - 1];
    assert(segment !== undefined && this.#activeFd !== undefined, 'no active segment');
    writeFully(this.#activeFd, bytes, segment.bytes);
    segment.bytes += bytes.length;
    this.#stats.logBytesWritten += bytes.length;
  }

  #syncActive(created: boolean): void {
    assert(this.#activeFd !== undefined);
    this.#fsync(this.#activeFd, 'log', true);
    if (created) fsyncDirectory(this.#directory, this.#fsync);
  }

  async #syncActiveAsync(created: boolean): Promise<void> {
    const fd = this.#activeFd;
    assert(fd !== undefined);
    await this.#timedFsyncAsync('log', () => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()))));
    if (created) fsyncDirectory(this.#directory, this.#fsync);
  }

  /** An fsync on the thread pool, timed and counted like the synchronous ones. */
  async #timedFsyncAsync(target: FsyncTarget, fsync: () => Promise<void>): Promise<void> {
    const start = performance.now();
    await fsync();
    recordFsync(this.#stats, this.#onFsync, performance.now() - start, target);
  }

  #writeSnapshot(snapshot: Snapshot): void {
    const newest = this.#snapshots[0];
    assert(newest === undefined || snapshot.metadata.index >= newest.index,
      `snapshot ${snapshot.metadata.index} is older than the durable snapshot ${newest?.index}`);
    this.#registerSnapshot(writeSnapshotFile(this.#directory, snapshot, this.#fsync), snapshot);
  }

  /** A durable snapshot file becomes the newest; the oldest beyond snapshotsKeptMax are removed. */
  #registerSnapshot(name: string, snapshot: Snapshot): void {
    const newest = this.#snapshots[0];
    assert(newest === undefined || snapshot.metadata.index >= newest.index,
      `snapshot ${snapshot.metadata.index} is older than the durable snapshot ${newest?.index}`);
    this.#stats.snapshotsWritten++;
    const written: SnapshotFileName = { name, index: snapshot.metadata.index, term: snapshot.metadata.term };
    const kept = [written, ...this.#snapshots.filter((existing) => existing.name !== name)];
    for (const old of kept.slice(snapshotsKeptMax)) fs.rmSync(path.join(this.#directory, old.name), { force: true });
    this.#snapshots = kept.slice(0, snapshotsKeptMax);
  }

  #deleteSegments(deletable: (segment: SegmentState) => boolean): number {
    let deleted = 0;
    for (let position = 0; position < this.#segments.length - 1; ) {
      const segment = this.#segments[position]!;
      if (!deletable(segment)) {
        position++;
        continue;
      }
      fs.unlinkSync(path.join(this.#directory, segment.name));
      this.#segments.splice(position, 1);
      deleted++;
    }
    this.#stats.segmentsDeleted += deleted;
    if (deleted > 0) this.#logger.info({ directory: this.#directory, segments: deleted }, 'deleted log segments');
    return deleted;
  }
}

type ChosenSnapshot =
  | {
      readonly ok: true;
      readonly snapshot: Snapshot | undefined;
      /** Readable snapshots, newest first (the chosen one first). */
      readonly usable: SnapshotFileName[];
      readonly corrupt: { file: string; reason: string }[];
    }
  | { readonly ok: false; readonly error: StorageError };

/**
 * The newest readable snapshot whose gap to the log is covered: the log must continue it
 * (its first entry at or below snapshot index + 1), and when newer snapshots were corrupt, the
 * log must reach the newest of them (their state is then rebuilt from the entries).
 */
function chooseSnapshot(directory: string, names: readonly SnapshotFileName[], entries: readonly Entry[]): ChosenSnapshot {
  const corrupt: { file: string; reason: string }[] = [];
  const firstIndex = entries[0]?.index;
  const lastIndex = entries[entries.length - 1]?.index ?? 0;
  const mustReach = names[0]?.index ?? 0;
  for (let position = 0; position < names.length; position++) {
    const name = names[position]!;
    const file = path.join(directory, name.name);
    let read: ReturnType<typeof readSnapshotFile>;
    try {
      read = readSnapshotFile(file, name);
    } catch (error) {
      if (isNotFound(error)) continue;
      throw error;
    }
    if (!read.ok) {
      corrupt.push({ file: name.name, reason: read.reason });
      continue;
    }
    const index = read.snapshot.metadata.index;
    if (firstIndex !== undefined && firstIndex > index + 1) {
      if (corrupt.length === 0) return gap(directory, name.name, index, firstIndex);
      return snapshotUnusable(directory, corrupt, `the log starts at ${firstIndex}, after the usable snapshot ${name.name}`);
    }
    if (corrupt.length > 0 && Math.max(lastIndex, index) < mustReach) {
      return snapshotUnusable(directory, corrupt, `the log ends at ${lastIndex}, before index ${mustReach}`);
    }
    return { ok: true, snapshot: read.snapshot, usable: names.slice(position), corrupt };
  }
  if (firstIndex !== undefined && firstIndex > 1) {
    if (corrupt.length === 0) return gap(directory, '(no snapshot)', 0, firstIndex);
    return snapshotUnusable(directory, corrupt, `the log starts at ${firstIndex} and no snapshot is readable`);
  }
  if (corrupt.length > 0 && lastIndex < mustReach) {
    return snapshotUnusable(directory, corrupt, `no snapshot is readable and the log ends at ${lastIndex}, before index ${mustReach}`);
  }
  return { ok: true, snapshot: undefined, usable: [], corrupt };
}

function gap(directory: string, snapshotName: string, snapshotIndex: number, firstIndex: number): ChosenSnapshot {
  return {
    ok: false,
    error: {
      code: 'log_gap',
      file: path.join(directory, snapshotName),
      offset: 0,
      message: `${directory}: snapshot ${snapshotName} ends at index ${snapshotIndex} but the log starts at ${firstIndex}: entries are missing, refusing to start`,
    },
  };
}

function snapshotUnusable(directory: string, corrupt: readonly { file: string; reason: string }[], why: string): ChosenSnapshot {
  const first = corrupt[0]!;
  const list = corrupt.map((item) => `${item.file} (${item.reason})`).join(', ');
  return {
    ok: false,
    error: {
      code: 'snapshot_corrupt',
      file: path.join(directory, first.file),
      message: `${directory}: corrupt snapshot ${list}, and ${why}: cannot recover the state, refusing to start`,
    },
  };
}

function timedFsync(stats: StorageStats, onFsync: FsyncObserver | undefined): TimedFsync {
  return (fd, target, dataOnly) => {
    const start = performance.now();
    if (dataOnly) fs.fdatasyncSync(fd);
    else fs.fsyncSync(fd);
    recordFsync(stats, onFsync, performance.now() - start, target);
  };
}

function recordFsync(stats: StorageStats, onFsync: FsyncObserver | undefined, durationMs: number, target: FsyncTarget): void {
  stats.fsyncCount++;
  if (target === 'log') stats.logFsyncCount++;
  stats.fsyncMsTotal += durationMs;
  stats.lastFsyncMs = durationMs;
  if (durationMs > stats.fsyncMsMax) stats.fsyncMsMax = durationMs;
  onFsync?.(durationMs, target);
}
