// A tiny synchronous in-memory cluster for unit tests: every node's Ready is "persisted"
// instantly, its messages queued, then delivered one by one (optionally filtered by a link rule).

import type { RaftNodeConfig } from '../config.ts';
import type { Entry } from '../entry.ts';
import type { InjectedBugs } from '../injected-bugs.ts';
import type { Message } from '../message.ts';
import { RaftNode } from '../raft-node.ts';
import type { Ready } from '../ready.ts';
import { Prng } from '../sim/prng.ts';

export const defaultTestConfig = {
  electionTicksMin: 10,
  electionTicksMax: 20,
  heartbeatTicks: 2,
  entriesPerMessageMax: 64,
  bytesPerMessageMax: 1 << 20,
  inflightMessagesMax: 4,
  snapshotChunkBytesMax: 4096,
} as const;

const deliveriesMax = 100_000;

export class MemoryCluster {
  readonly nodes = new Map<string, RaftNode>();
  readonly applied = new Map<string, Entry[]>();
  readonly readies = new Map<string, Ready[]>();
  readonly queue: Message[] = [];
  /** Return false to drop a message. */
  linkUp: (from: string, to: string) => boolean = () => true;

  constructor(ids: readonly string[], overrides: Partial<RaftNodeConfig> = {}, bugs: Partial<InjectedBugs> = {}) {
    const prng = new Prng(7);
    for (const id of ids) {
      const random = prng.fork();
      this.add(new RaftNode({
        id,
        start: { type: 'bootstrap', data: { voters: ids } },
        ...defaultTestConfig,
        random: () => random.float(),
        bugs,
        ...overrides,
      }));
    }
  }

  add(node: RaftNode): void {
    this.nodes.set(node.id, node);
    this.applied.set(node.id, []);
    this.readies.set(node.id, []);
  }

  node(id: string): RaftNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Process every node's Ready (persist instantly, queue messages, apply) until quiet. */
  flush(): void {
    for (let round = 0; round < deliveriesMax; round++) {
      let progressed = false;
      for (const [id, node] of this.nodes) {
        const ready = node.ready();
        if (ready === undefined) continue;
        progressed = true;
        this.readies.get(id)!.push(ready);
        this.queue.push(...ready.messages);
        this.applied.get(id)!.push(...ready.committedEntries);
        node.advance(ready);
      }
      if (!progressed) return;
    }
    throw new Error('flush did not settle');
  }

  /** Deliver queued messages (and everything they cause) until none is left. */
  deliverAll(): void {
    this.flush();
    for (let delivered = 0; delivered < deliveriesMax; delivered++) {
      const message = this.queue.shift();
      if (message === undefined) return;
      const target = this.nodes.get(message.to);
      if (target !== undefined && this.linkUp(message.from, message.to)) target.step(message);
      this.flush();
    }
    throw new Error('deliverAll did not settle');
  }

  tick(id: string, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.node(id).tick();
      this.deliverAll();
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const node of this.nodes.values()) node.tick();
      this.deliverAll();
    }
  }

  /** Tick everyone until some node leads (bounded). */
  electLeader(ticksMax = 200): RaftNode {
    for (let i = 0; i < ticksMax; i++) {
      const leader = this.leader();
      if (leader !== undefined) return leader;
      this.tickAll();
    }
    throw new Error('no leader elected');
  }

  leader(): RaftNode | undefined {
    let best: RaftNode | undefined;
    for (const node of this.nodes.values()) {
      const status = node.status();
      if (status.role === 'leader' && (best === undefined || status.term > best.status().term)) best = node;
    }
    return best;
  }

  /** Make `id` the leader by letting only its election timer run. */
  campaign(id: string, ticksMax = 100): void {
    for (let i = 0; i < ticksMax && this.node(id).status().role !== 'leader'; i++) this.tick(id);
    if (this.node(id).status().role !== 'leader') throw new Error(`${id} did not become leader`);
  }
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
