/**
 * Opens a writer node's durable state and decides how its Raft core starts:
 * - a data directory with history → `restore` (or `join` while a `joining` marker says the node
 *   has not yet been promoted back to voter);
 * - an empty directory and WRITER_BOOTSTRAP=true → a brand-new cluster: `bootstrap` with every
 *   configured peer as a voter;
 * - an empty directory otherwise → the disk was lost (or the node is new): it must not vote as if
 *   it had promised nothing, so it starts as `join` (a non-voter that catches up and votes only
 *   after the leader promotes it; see README, "Replacing a node's disk").
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../common/logger.ts';
import { RaftStorage } from '../log/raft-storage.ts';
import type { RaftStart } from '../raft/config.ts';

export const joiningMarkerFile = 'joining';

export interface OpenedNode {
  readonly storage: RaftStorage;
  readonly start: RaftStart;
  /** Call when the core reports `votingUnblocked`: the node is a voter again. */
  readonly markVoting: () => void;
  /** Call when the core reports a `joinFloor` while joining: kept for `join` restarts. */
  readonly recordJoinFloor: (joinFloor: number) => void;
}

interface JoiningMarker {
  readonly reason: string;
  readonly joinFloor?: number;
}

export function openNode(options: { dataDir: string; clusterId: string; nodeId: string; voters: readonly string[]; bootstrap: boolean; log: Logger }): OpenedNode {
  const { dataDir, clusterId, nodeId, log } = options;
  const opened = RaftStorage.open(dataDir, { identity: { clusterId, nodeId }, logger: log });
  if (!opened.ok) throw new Error(`cannot open the Raft log in ${dataDir}: ${opened.error.message}`);
  const marker = path.join(dataDir, joiningMarkerFile);
  const markVoting = () => rmSync(marker, { force: true });
  const writeMarker = (content: JoiningMarker) => {
    writeFileSync(`${marker}.tmp`, `${JSON.stringify(content)}\n`);
    renameSync(`${marker}.tmp`, marker);
  };
  const reason = 'this node lost (or never had) its Raft state; it may not vote until the leader promotes it';
  const recordJoinFloor = (joinFloor: number) => {
    if (existsSync(marker)) writeMarker({ reason, joinFloor });
  };
  if (opened.recovery.tornTail !== undefined) log.warn({ tornTail: opened.recovery.tornTail }, 'truncated a torn tail of the Raft log');
  if (opened.fresh) {
    const bootstrapped = RaftStorage.bootstrap(dataDir, { clusterId, nodeId, createdAt: new Date().toISOString() });
    if (!bootstrapped.ok) throw new Error(`cannot initialise ${dataDir}: ${bootstrapped.error.message}`);
    if (options.bootstrap) {
      log.info({ voters: options.voters }, 'empty data directory and WRITER_BOOTSTRAP=true: bootstrapping a new cluster');
      return { storage: opened.storage, start: { type: 'bootstrap', data: { voters: options.voters } }, markVoting, recordJoinFloor };
    }
    writeMarker({ reason });
    log.warn('empty data directory and WRITER_BOOTSTRAP is not set: joining as a NON-VOTER until the leader promotes this node (it may have lost its disk; a node that promised votes must not forget them)');
    return { storage: opened.storage, start: { type: 'join', data: {} }, markVoting, recordJoinFloor };
  }
  if (existsSync(marker)) {
    const content = JSON.parse(readFileSync(marker, 'utf8')) as JoiningMarker;
    log.warn({ joinFloor: content.joinFloor }, 'still joining (not yet promoted back to voter): starting as a non-voter');
    const data = content.joinFloor === undefined ? { persisted: opened.state } : { persisted: opened.state, joinFloor: content.joinFloor };
    return { storage: opened.storage, start: { type: 'join', data }, markVoting, recordJoinFloor };
  }
  return { storage: opened.storage, start: { type: 'restore', data: opened.state }, markVoting, recordJoinFloor };
}
