import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { openNode } from './open-node.ts';

const log = createLogger('open-node-test', 'silent');
const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function freshDirectory(): string {
  const directory = path.join(mkdtempSync(path.join(os.tmpdir(), 'open-node-')), 'writer');
  directories.push(path.dirname(directory));
  return directory;
}

const identity = { clusterId: 'c1', nodeId: '2', voters: ['1', '2', '3'], log };

describe('openNode: how a writer node starts from its data directory', () => {
  it('bootstraps a new cluster only when told to, and restores afterwards', () => {
    const dataDir = freshDirectory();
    const first = openNode({ ...identity, dataDir, bootstrap: true });
    expect(first.start).toEqual({ type: 'bootstrap', data: { voters: ['1', '2', '3'] } });
    first.storage.close();
    const second = openNode({ ...identity, dataDir, bootstrap: true });
    expect(second.start.type).toBe('restore');
    second.storage.close();
  });

  it('an empty directory without WRITER_BOOTSTRAP joins as a non-voter, and stays joining across restarts until promoted', () => {
    const dataDir = freshDirectory();
    const first = openNode({ ...identity, dataDir, bootstrap: false });
    expect(first.start).toEqual({ type: 'join', data: {} });
    first.recordJoinFloor(42);
    first.storage.close();
    const restarted = openNode({ ...identity, dataDir, bootstrap: true });
    expect(restarted.start.type).toBe('join');
    expect(restarted.start.type === 'join' && restarted.start.data.joinFloor).toBe(42);
    restarted.markVoting();
    restarted.storage.close();
    const promoted = openNode({ ...identity, dataDir, bootstrap: false });
    expect(promoted.start.type).toBe('restore');
    promoted.storage.close();
  });

  it('refuses a data directory of another node', () => {
    const dataDir = freshDirectory();
    openNode({ ...identity, dataDir, bootstrap: true }).storage.close();
    expect(() => openNode({ ...identity, nodeId: '3', dataDir, bootstrap: true })).toThrow(/cannot open the Raft log/);
  });
});
