// Throughput between two peer transports on loopback. The receiving transport runs in a worker
// thread (its own event loop, like a separate node), so the figures include encoding, framing,
// socket I/O, decoding and delivery without the two ends taking turns on one thread.
// Run: node writer/transport/transport.bench.ts        (add --same-thread for one event loop)
//
// The sender keeps its outbound queue below a target (it polls stats() between ticks), so drops
// would mean overload, not the benchmark's own impatience.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
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
const queueMessagesTarget = 4096;
const queueBytesTarget = 32 * 1024 * 1024;

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

interface ReceiverReport {
  readonly received: number;
  readonly receivedBytes: number;
  readonly outOfOrder: number;
}

/** The receiving node: counts messages, checks heartbeat order, reports when asked. */
class Receiver {
  readonly transport = new PeerTransport({ nodeId: 'b', clusterId: 'bench', listen: { host: '127.0.0.1', port: 0 }, peers: {}, log });
  received = 0;
  #lastCommit = -1;
  outOfOrder = 0;

  constructor() {
    this.transport.onMessage((message) => {
      this.received++;
      if (message.type === 'heartbeat') {
        if (message.commit !== this.#lastCommit + 1) this.outOfOrder++;
        this.#lastCommit = message.commit;
      }
    });
  }

  report(): ReceiverReport {
    return { received: this.received, receivedBytes: this.transport.stats().peers.a?.receivedBytes ?? 0, outOfOrder: this.outOfOrder };
  }
}

/** Where the receiver runs: this thread, or a worker answering 'report' requests. */
interface ReceiverHandle {
  readonly port: number;
  report(): Promise<ReceiverReport>;
  stop(): Promise<void>;
}

async function receiverHere(): Promise<ReceiverHandle> {
  const receiver = new Receiver();
  const bound = await receiver.transport.start();
  return { port: bound.port, report: async () => receiver.report(), stop: () => receiver.transport.stop() };
}

async function receiverInWorker(): Promise<ReceiverHandle> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'receiver' } });
  const port = await new Promise<number>((resolve) => worker.once('message', (message: { port: number }) => resolve(message.port)));
  return {
    port,
    report: () => new Promise((resolve) => {
      worker.once('message', (message: ReceiverReport) => resolve(message));
      worker.postMessage('report');
    }),
    stop: async () => {
      worker.postMessage('stop');
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}

async function runWorker(): Promise<void> {
  const receiver = new Receiver();
  const bound = await receiver.transport.start();
  parentPort?.on('message', (request: string) => {
    if (request === 'report') parentPort?.postMessage(receiver.report());
    else void receiver.transport.stop().then(() => parentPort?.close());
  });
  parentPort?.postMessage({ port: bound.port });
}

async function run(scenario: Scenario, sameThread: boolean): Promise<void> {
  const receiver = sameThread ? await receiverHere() : await receiverInWorker();
  const sender = new PeerTransport({ nodeId: 'a', clusterId: 'bench', listen: { host: '127.0.0.1', port: 0 }, peers: { b: `127.0.0.1:${receiver.port}` }, log });
  await sender.start();
  while (sender.stats().peers.b?.connected !== true) await new Promise((resolve) => setTimeout(resolve, 5));

  const started = performance.now();
  let sent = 0;
  let report: ReceiverReport = { received: 0, receivedBytes: 0, outOfOrder: 0 };
  const batchMessages = Math.min(batchMessagesMax, Math.max(1, Math.floor(batchBytesMax / scenario.messageBytes)));
  while (performance.now() - started < scenarioMsMax) {
    // Offer batches for a few milliseconds, then ask the receiver how far it got.
    const sliceEnd = performance.now() + 20;
    while (performance.now() < sliceEnd && sent < scenario.messages) {
      const peer = sender.stats().peers.b;
      if ((peer?.queuedMessages ?? 0) < queueMessagesTarget && (peer?.queuedBytes ?? 0) < queueBytesTarget) {
        const batch: Message[] = [];
        while (batch.length < batchMessages && sent < scenario.messages) batch.push(scenario.make(sent++));
        sender.send(batch);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (sent === scenario.messages) await new Promise((resolve) => setTimeout(resolve, 1));
    report = await receiver.report();
    if (report.received + (sender.stats().peers.b?.dropped ?? 0) >= scenario.messages) break;
  }
  const seconds = (performance.now() - started) / 1000;
  const dropped = sender.stats().peers.b?.dropped ?? 0;
  console.log(
    `${scenario.name.padEnd(30)} ${report.received.toLocaleString('en').padStart(8)} msgs in ${seconds.toFixed(2)} s: ` +
      `${Math.round(report.received / seconds).toLocaleString('en').padStart(8)} msg/s, ${(report.receivedBytes / seconds / 1e6).toFixed(1).padStart(6)} MB/s ` +
      `(frame ${Math.round(report.receivedBytes / Math.max(report.received, 1)).toLocaleString('en')} B, dropped ${dropped}, out of order ${report.outOfOrder})`,
  );
  await sender.stop();
  await receiver.stop();
}

if (isMainThread) {
  const sameThread = process.argv.includes('--same-thread');
  console.log(`node ${process.version}, loopback, receiver ${sameThread ? 'on the same thread' : 'in a worker thread'}`);
  for (const scenario of scenarios) await run(scenario, sameThread);
} else if ((workerData as { role?: string } | undefined)?.role === 'receiver') {
  await runWorker();
}
