// Small durable-file primitives: timed fsyncs, directory fsync, and the atomic replace
// (write to a temporary name, fsync, rename, fsync the directory) used for snapshots and the
// node identity. A failed fsync throws: after one the page cache may have dropped the dirty
// pages, so the only safe reaction is to crash and recover from what is on disk.

import fs from 'node:fs';
import path from 'node:path';
import type { FsyncTarget } from './storage-stats.ts';

export const temporarySuffix = '.tmp';

export type TimedFsync = (fd: number, target: FsyncTarget, dataOnly: boolean) => void;

export function fsyncDirectory(directory: string, fsync: TimedFsync): void {
  const fd = fs.openSync(directory, 'r');
  try {
    fsync(fd, 'directory', false);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `chunks` to `directory/name` atomically: readers see the old file or the whole new one. */
export function writeFileAtomically(
  directory: string,
  name: string,
  chunks: readonly Uint8Array[],
  target: FsyncTarget,
  fsync: TimedFsync,
): void {
  const finalPath = path.join(directory, name);
  const temporaryPath = finalPath + temporarySuffix;
  const fd = fs.openSync(temporaryPath, 'w');
  try {
    let position = 0;
    for (const chunk of chunks) {
      writeFully(fd, chunk, position);
      position += chunk.length;
    }
    fsync(fd, target, false);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporaryPath, finalPath);
  fsyncDirectory(directory, fsync);
}

/**
 * `writeFileAtomically` with the writes and the file's fsync on the libuv thread pool, so the
 * event loop (heartbeats, requests) keeps running while a large file goes to disk. The rename and
 * the directory fsync are small and stay synchronous. `fsyncFile` times and performs the fsync.
 */
export async function writeFileAtomicallyAsync(
  directory: string,
  name: string,
  chunks: readonly Uint8Array[],
  fsyncFile: (handle: fs.promises.FileHandle) => Promise<void>,
  fsync: TimedFsync,
): Promise<void> {
  const finalPath = path.join(directory, name);
  // Its own temporary name: a synchronous write of the same file may run meanwhile.
  const temporaryPath = `${finalPath}.async${temporarySuffix}`;
  const handle = await fs.promises.open(temporaryPath, 'w');
  try {
    let position = 0;
    for (const chunk of chunks) {
      let written = 0;
      while (written < chunk.length) {
        const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, position + written);
        written += bytesWritten;
      }
      position += chunk.length;
    }
    await fsyncFile(handle);
  } finally {
    await handle.close();
  }
  fs.renameSync(temporaryPath, finalPath);
  fsyncDirectory(directory, fsync);
}

/** Writes all of `bytes` at `position` (writeSync may write less than asked). */
export function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.length) {
    written += fs.writeSync(fd, bytes, written, bytes.length - written, position + written);
  }
}
