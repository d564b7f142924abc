/** Writer nodes wired together in memory (no disk, no sockets) to test the shell's logic. */
import { createLogger } from '../../../common/logger.ts';
import type { Message } from '../../raft/message.ts';
import { Prng } from '../../raft/sim/prng.ts';
import type { Snapshot } from '../../raft/message.ts';
import { WriterNode, type NodePublisher, type NodePublisherContext, type NodeStorage, type WriterNodeLimits } from '../writer-node.ts';

export interface InMemoryCluster {
  readonly nodes: Map<string, WriterNode>;
  /** Nodes whose traffic is dropped both ways. */
  readonly isolated: Set<string>;
  leader(): WriterNode | undefined;
  waitForLeader(timeoutMs?: number): Promise<WriterNode>;
  stop(): void;
}

export interface InMemoryClusterOptions {
  readonly limits?: Partial<WriterNodeLimits>;
  /** A publisher per node (absent: the nodes run without one). */
  readonly publisher?: (nodeId: string, context: NodePublisherContext) => NodePublisher;
  /** Every snapshot a node saved (its own, from compaction), by node id. */
  readonly snapshots?: Map<string, Snapshot[]>;
}

export function startInMemoryCluster(ids: readonly string[], seed = 1, options: InMemoryClusterOptions = {}): InMemoryCluster {
  const nodes = new Map<string, WriterNode>();
  const isolated = new Set<string>();
  const log = createLogger('writer-test', 'silent');
  let commandCounter = 0;
  const deliver = (messages: readonly Message[]) => {
    for (const message of messages) {
      if (isolated.has(message.from) || isolated.has(message.to)) continue;
      const target = nodes.get(message.to);
      if (target) setImmediate(() => target.receive(message));
    }
  };
  ids.forEach((id, position) => {
    const random = new Prng(seed * 31 + position);
    const storage: NodeStorage = {
      persistAsync: async () => undefined,
      persist: () => undefined,
      saveSnapshotAsync: async (snapshot) => {
        if (options.snapshots) options.snapshots.set(id, [...(options.snapshots.get(id) ?? []), snapshot]);
      },
      close: () => undefined,
    };
    const publisher = options.publisher;
    const node = new WriterNode({
      nodeId: id,
      shard: 0,
      storage,
      ...(publisher ? { publisher: (context: NodePublisherContext) => publisher(id, context) } : {}),
      transport: { send: deliver },
      log,
      idGenerator: () => `${id}-command-${(commandCounter += 1)}`,
      limits: { tickMs: 5, commitWaitMsMax: 3_000, ...options.limits },
      raft: {
        id, start: { type: 'bootstrap', data: { voters: [...ids] } },
        electionTicksMin: 10, electionTicksMax: 20, heartbeatTicks: 2,
        entriesPerMessageMax: 512, bytesPerMessageMax: 4 * 1024 * 1024, inflightMessagesMax: 8, snapshotChunkBytesMax: 1024 * 1024,
        random: () => random.float(),
      },
    });
    nodes.set(id, node);
  });
  for (const node of nodes.values()) node.start();
  const leader = () => [...nodes.values()].find((node) => node.isLeader && !isolated.has(node.cluster().nodeId));
  return {
    nodes,
    isolated,
    leader,
    waitForLeader: async (timeoutMs = 5_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = leader();
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('no leader elected');
    },
    stop: () => {
      for (const node of nodes.values()) void node.stop();
    },
  };
}
