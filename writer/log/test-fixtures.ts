// Shared by this folder's tests: temporary data directories, entries and Ready-shaped inputs.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Entry } from '../raft/entry.ts';
import type { Membership } from '../raft/membership.ts';
import type { Snapshot } from '../raft/message.ts';
import type { HardState } from '../raft/persistent-state.ts';
import { RaftStorage, type PersistableReady, type RaftStorageOptions } from './raft-storage.ts';

export const testIdentity = { clusterId: 'cluster-a', nodeId: 'node-1' } as const;
export const testMembership: Membership = { voters: ['node-1', 'node-2', 'node-3'], learners: [] };

const directories: string[] = [];

export function temporaryDirectory(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-storage-'));
  directories.push(directory);
  return directory;
}

export function removeTemporaryDirectories(): void {
  for (const directory of directories.splice(0)) fs.rmSync(directory, { recursive: true, force: true });
}

export function entry(index: number, term: number, text = `entry ${index}`): Entry {
  return { index, term, kind: 'normal', data: new TextEncoder().encode(text) };
}

export function entries(from: number, to: number, term: number): Entry[] {
  const result: Entry[] = [];
  for (let index = from; index <= to; index++) result.push(entry(index, term));
  return result;
}

export function snapshot(index: number, term: number, text = `state at ${index}`): Snapshot {
  return { metadata: { index, term, membership: testMembership }, data: new TextEncoder().encode(text) };
}

export function ready(parts: Partial<PersistableReady>): PersistableReady {
  return { snapshot: undefined, entries: [], hardState: undefined, compactedTo: undefined, ...parts };
}

export function hardState(term: number, commit: number, votedFor: string | null = null): HardState {
  return { term, commit, votedFor };
}

export function openStorage(directory: string, options: Partial<RaftStorageOptions> = {}) {
  const opened = RaftStorage.open(directory, { identity: testIdentity, ...options });
  assert(opened.ok, opened.ok ? '' : opened.error.message);
  return opened;
}

export function segmentFiles(directory: string): string[] {
  return fs.readdirSync(directory).filter((name) => name.startsWith('segment-')).sort();
}

export function lastSegmentPath(directory: string): string {
  const files = segmentFiles(directory);
  const last = files[files.length - 1];
  assert(last !== undefined, 'no segment');
  return path.join(directory, last);
}

export function copyDirectory(from: string): string {
  const to = temporaryDirectory();
  fs.cpSync(from, to, { recursive: true });
  return to;
}

/** Entries as plain comparable values. */
export function describeEntries(list: readonly Entry[]): { index: number; term: number; kind: string; data: string }[] {
  return list.map((item) => ({ index: item.index, term: item.term, kind: item.kind, data: Buffer.from(item.data).toString('hex') }));
}
