// Throughput between two peer transports on loopback, in one process (so both ends share one
// event loop: the figures include encoding, framing, decoding and delivery on both sides).
// Run: node writer/transport/transport.bench.ts
//
// The sender keeps the outbound queue about half full (it polls the queue between ticks), so
// drops measure overload, not the benchmark's own impatience.

import { pino } from 'pino';
import type { Entry } from '../raft/entry.ts';
import type { Message } from '../raft/message.ts';
import { PeerTransport } from './peer-transport.ts';

interface Scenario {
  readonly name: string;
  readonly messages: number;
  /** Approximate encoded size, for sizing the batches offered per tick. */
  readonly messageBytes: number;
  readonly make: (index: number) => Message;
}

/** Each scenario stops here even if not all messages arrived. */
const scenarioMsMax = 20_000;
const batchMessagesMax = 512;
/** Bytes offered per tick, so large messages do not overrun queuedBytesMax in one call. */
const batchBytesMax = 16 * 1024 * 1024;

const entryData = new Uint8Array(256).fill(7);
const entries: Entry[] = Array.from({ length: 64 }, (_, index) => ({ index: index + 1, term: 1, kind: 'normal', data: entryData }));
const snapshotChunk = new Uint8Array(1024 * 1024).fill(3);

const scenarios: readonly Scenario[] = [
  { name: 'heartbeat (tiny)', messages: 300_000, messageBytes: 16, make: (index) => ({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: index }) },
  {
    name: 'append_entries 64 × 256 B',
    messages: 20_000,
    messageBytes: 17_000,
    make: (index) => ({ type: 'append_entries', from: 'a', to: 'b', term: 1, prevLogIndex: index, prevLogTerm: 1, commit: index, entries }),
  },
  {
    name: 'install_snapshot 1 MiB chunks',
    messages: 500,
    messageBytes: 1_048_600,
    make: (index) => ({
      type: 'install_snapshot', from: 'a', to: 'b', term: 1, metadata: { index: 1, term: 1, membership: { voters: ['a', 'b'], learners: [] } },
      offset: index * snapshotChunk.length, chunk: snapshotChunk, done: false,
    }),
  },
];

const log = pino({ level: 'warn' });

async function run(scenario: Scenario): Promise<void> {
  const receiver = new PeerTransport({ nodeId: 'b', clusterId: 'bench', listen: { host: '127.0.0.1', port: 0 }, peers: {}, log });
  const bound = await receiver.start();
  const sender = new PeerTransport({ nodeId: 'a', clusterId: 'bench', listen: { host: '127.0.0.1', port: 0 }, peers: { b: `127.0.0.1:${bound.port}` }, log });
  await sender.start();
  let received = 0;
  let lastCommit = -1;
  let outOfOrder = 0;
  receiver.onMessage((message) => {
    received++;
    if (message.type === 'heartbeat') {
      if (message.commit !== lastCommit + 1) outOfOrder++;
      lastCommit = message.commit;
    }
  });
  while (sender.stats().peers.b?.connected !== true) await new Promise((resolve) => setTimeout(resolve, 5));

  const queueTarget = 4096;
  const queueBytesTarget = 32 * 1024 * 1024;
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const step = (): void => {
      const elapsed = performance.now() - started;
      if (received + (sender.stats().peers.b?.dropped ?? 0) >= scenario.messages || elapsed > scenarioMsMax) {
        resolve();
        return;
      }
      const peer = sender.stats().peers.b;
      if (sent < scenario.messages && (peer?.queuedMessages ?? 0) < queueTarget && (peer?.queuedBytes ?? 0) < queueBytesTarget) {
        const batch: Message[] = [];
        const batchMessages = Math.min(batchMessagesMax, Math.max(1, Math.floor(batchBytesMax / scenario.messageBytes)));
        while (batch.length < batchMessages && sent < scenario.messages) batch.push(scenario.make(sent++));
        sender.send(batch);
      }
      setImmediate(step);
    };
    step();
  });
  const seconds = (performance.now() - started) / 1000;
  const peer = sender.stats().peers.b;
  const bytes = receiver.stats().peers.a?.receivedBytes ?? 0;
  console.log(
    `${scenario.name.padEnd(32)} ${received.toLocaleString('en').padStart(9)} msgs in ${seconds.toFixed(2)} s: ` +
      `${Math.round(received / seconds).toLocaleString('en').padStart(9)} msg/s, ${(bytes / seconds / 1e6).toFixed(1).padStart(7)} MB/s ` +
      `(frame ${Math.round(bytes / Math.max(received, 1)).toLocaleString('en')} B, dropped ${peer?.dropped ?? 0}, out of order ${outOfOrder})`,
  );
  await sender.stop();
  await receiver.stop();
}

console.log(`node ${process.version}, both transports in one process on loopback`);
for (const scenario of scenarios) await run(scenario);
