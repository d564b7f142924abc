// `node-identity.json`: which cluster and node a data directory belongs to. Written atomically
// once, when the node is bootstrapped (or, for a node that joined, once it may vote); checked on
// every open so a directory of another node or cluster is refused instead of silently reused.

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomically, type TimedFsync } from './durable-file.ts';
import type { StorageError } from './storage-error.ts';

export const identityFileName = 'node-identity.json';
/** The file is tiny; anything larger is not ours. */
const identityFileBytesMax = 64 * 1024;

export interface NodeIdentity {
  readonly clusterId: string;
  readonly nodeId: string;
  /** ISO-8601 time the directory was first bootstrapped (informational). */
  readonly createdAt: string;
}

export type ExpectedIdentity = Pick<NodeIdentity, 'clusterId' | 'nodeId'>;

export type ReadIdentityResult =
  | { readonly ok: true; readonly identity: NodeIdentity | undefined }
  | { readonly ok: false; readonly error: StorageError };

export function readIdentity(directory: string): ReadIdentityResult {
  const file = path.join(directory, identityFileName);
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (stat.size > identityFileBytesMax) return corrupt(file, `${stat.size} bytes, more than ${identityFileBytesMax}`);
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return { ok: true, identity: undefined };
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return corrupt(file, `not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) return corrupt(file, 'not a JSON object');
  const { clusterId, nodeId, createdAt } = parsed as Record<string, unknown>;
  if (typeof clusterId !== 'string' || typeof nodeId !== 'string' || typeof createdAt !== 'string') {
    return corrupt(file, 'clusterId, nodeId and createdAt must be strings');
  }
  return { ok: true, identity: { clusterId, nodeId, createdAt } };
}

/** Undefined when `found` is the expected node of the expected cluster. */
export function checkIdentity(file: string, expected: ExpectedIdentity, found: NodeIdentity): StorageError | undefined {
  if (found.clusterId === expected.clusterId && found.nodeId === expected.nodeId) return undefined;
  return {
    code: 'identity_mismatch',
    file,
    message:
      `${file} belongs to node ${found.nodeId} of cluster ${found.clusterId} (created ${found.createdAt}), ` +
      `but this is node ${expected.nodeId} of cluster ${expected.clusterId}: refusing to use another node's data ` +
      `directory; point the node at its own directory, or at an empty one to rejoin as a learner`,
  };
}

export function writeIdentity(directory: string, identity: NodeIdentity, fsync: TimedFsync): void {
  const bytes = new TextEncoder().encode(JSON.stringify(identity, null, 2) + '\n');
  writeFileAtomically(directory, identityFileName, [bytes], 'identity', fsync);
}

function corrupt(file: string, reason: string): ReadIdentityResult {
  return { ok: false, error: { code: 'identity_corrupt', file, message: `${file} is unreadable (${reason}): refusing to start` } };
}

export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}
