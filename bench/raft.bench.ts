// npm run bench:raft — throughput of the Raft core alone: 3 RaftNodes wired in memory (no I/O,
// no codec), the leader proposes batches of 1,000 entries, every Ready is "persisted" at once and
// its messages delivered directly. Measures entries committed per second on the leader; prints
// the median of several runs.

import os from 'node:os';
import { RaftNode } from '../writer/raft/raft-node.ts';
import type { Message } from '../writer/raft/message.ts';
import { Prng } from '../writer/raft/sim/prng.ts';
import { machineFacts, writeBenchSummary } from './report/bench-summary.ts';

const entriesPerBatch = 1_000;
const batchesPerRun = 300;
const runs = 5;
const loadAtStart = os.loadavg();
const warmupBatches = 100;
const payloadBytes = 64;
const settings = {
  electionTicksMin: 10,
  electionTicksMax: 20,
  heartbeatTicks: 2,
  entriesPerMessageMax: 1_000,
  bytesPerMessageMax: 1 << 20,
  inflightMessagesMax: 8,
  snapshotChunkBytesMax: 1 << 20,
} as const;
const ids = ['n1', 'n2', 'n3'];
const settleRoundsMax = 1_000_000;
/** The application snapshots and compacts the log every this many batches, as a real one would. */
const compactEveryBatches = 4;
const emptySnapshot = new Uint8Array(0);

class MemoryCluster {
  readonly nodes: RaftNode[];
  readonly #byId = new Map<string, RaftNode>();
  #queue: Message[] = [];

  constructor(seed: number) {
    const prng = new Prng(seed);
    this.nodes = ids.map((id) => {
      const random = prng.fork();
      const node = new RaftNode({ id, start: { type: 'bootstrap', data: { voters: ids } }, ...settings, random: () => random.float() });
      this.#byId.set(id, node);
      return node;
    });
  }

  /** Handle every Ready and deliver every message until the cluster is quiet. */
  settle(): void {
    for (let round = 0; round < settleRoundsMax; round++) {
      let busy = false;
      for (const node of this.nodes) {
        const ready = node.ready();
        if (ready === undefined) continue;
        busy = true;
        // "Persist" (nothing to do in memory), then send, apply (nothing), advance.
        for (const message of ready.messages) this.#queue.push(message);
        node.advance(ready);
      }
      if (this.#queue.length > 0) {
        busy = true;
        const queue = this.#queue;
        this.#queue = [];
        for (const message of queue) this.#byId.get(message.to)!.step(message);
      }
      if (!busy) return;
    }
    throw new Error('cluster did not settle');
  }

  compact(): void {
    for (const node of this.nodes) {
      const applied = node.status().appliedIndex;
      node.compact(applied, emptySnapshot, applied);
    }
  }

  elect(): RaftNode {
    for (let tick = 0; tick < 1_000; tick++) {
      const leader = this.nodes.find((node) => node.status().role === 'leader');
      if (leader !== undefined) return leader;
      for (const node of this.nodes) node.tick();
      this.settle();
    }
    throw new Error('no leader');
  }
}

function runOnce(seed: number, payloads: Uint8Array[]): number {
  const cluster = new MemoryCluster(seed);
  const leader = cluster.elect();
  for (let batch = 0; batch < warmupBatches; batch++) {
    leader.propose(payloads);
    cluster.settle();
    if (batch % compactEveryBatches === 0) cluster.compact();
  }
  const commitBefore = leader.status().commitIndex;
  const startedMs = performance.now();
  for (let batch = 0; batch < batchesPerRun; batch++) {
    const result = leader.propose(payloads);
    if (!result.ok) throw new Error(`proposal refused: ${result.error.code}`);
    cluster.settle();
    if (batch % compactEveryBatches === 0) cluster.compact();
  }
  const elapsedMs = performance.now() - startedMs;
  const committed = leader.status().commitIndex - commitBefore;
  if (committed !== batchesPerRun * entriesPerBatch) throw new Error(`committed ${committed}, expected ${batchesPerRun * entriesPerBatch}`);
  for (const node of cluster.nodes) {
    if (node.status().lastIndex !== leader.status().lastIndex) throw new Error(`${node.id} did not replicate everything`);
  }
  return committed / (elapsedMs / 1000);
}

const payloads = Array.from({ length: entriesPerBatch }, (_, i) => new Uint8Array(payloadBytes).fill(i % 251));
process.stdout.write(
  `bench:raft — 3 nodes in memory, batches of ${entriesPerBatch} entries of ${payloadBytes} B, ${batchesPerRun} batches per run, ` +
  `entriesPerMessageMax ${settings.entriesPerMessageMax}, inflightMessagesMax ${settings.inflightMessagesMax}, ` +
  `compaction every ${compactEveryBatches} batches\n`,
);
const rates: number[] = [];
for (let run = 1; run <= runs; run++) {
  const rate = runOnce(run, payloads);
  rates.push(rate);
  process.stdout.write(`  run ${run}/${runs}: ${Math.round(rate).toLocaleString('en-US')} entries/s committed\n`);
}
const sorted = [...rates].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)]!;
process.stdout.write(`median: ${Math.round(median).toLocaleString('en-US')} entries/s committed (target ≥ 1,000,000)\n`);
writeBenchSummary({
  bench: 'raft', measuredAt: new Date().toISOString(), machine: machineFacts(loadAtStart),
  settings: { nodes: 3, entriesPerBatch, payloadBytes, batchesPerRun, runs, compactEveryBatches },
  figures: [{ name: 'Raft core alone, entries committed', value: median, unit: 'entries/s', runs: rates, target: { kind: 'min', value: 1_000_000 } }],
});
