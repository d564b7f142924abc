// Helpers for the transport's loopback tests: a logger that keeps its lines, polling waits with a
// bound, and message builders.

import net from 'node:net';
import { pino } from 'pino';
import type { Logger } from '../../../common/logger.ts';
import type { Heartbeat, Message } from '../../raft/message.ts';
import { PeerTransport } from '../peer-transport.ts';
import type { TransportLimits } from '../transport-limits.ts';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface CapturedLog {
  readonly log: Logger;
  readonly lines: LogLine[];
}

/** Log lines kept in memory per logger; capped so a noisy test cannot grow without bound. */
const capturedLinesMax = 10_000;

export function capturingLogger(): CapturedLog {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, {
    write(line: string): void {
      if (lines.length < capturedLinesMax) lines.push(JSON.parse(line) as LogLine);
    },
  });
  return { log, lines };
}

const pollIntervalMs = 5;

/** Polls until `condition()` holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollIntervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function heartbeat(from: string, to: string, commit: number): Heartbeat {
  return { type: 'heartbeat', from, to, term: 1, commit };
}

/** Fast reconnects and timeouts so the tests finish in well under a second each. */
export const testLimits: Partial<TransportLimits> = {
  reconnectDelayMsMin: 10,
  reconnectDelayMsMax: 100,
  connectTimeoutMs: 500,
  handshakeTimeoutMs: 500,
};

export interface TestNode {
  readonly transport: PeerTransport;
  readonly received: Message[];
  readonly captured: CapturedLog;
  readonly address: string;
}

/** A transport listening on a free loopback port (or `port`), recording what it receives. */
export async function startNode(
  nodeId: string,
  options: { clusterId?: string; peers?: Record<string, string>; limits?: Partial<TransportLimits>; port?: number } = {},
): Promise<TestNode> {
  const captured = capturingLogger();
  const transport = new PeerTransport({
    nodeId,
    clusterId: options.clusterId ?? 'test-cluster',
    listen: { host: '127.0.0.1', port: options.port ?? 0 },
    peers: options.peers ?? {},
    log: captured.log,
    limits: { ...testLimits, ...options.limits },
    random: () => 0.5,
  });
  const received: Message[] = [];
  transport.onMessage((message) => received.push(message));
  const bound = await transport.start();
  return { transport, received, captured, address: `${bound.host}:${bound.port}` };
}

/** A loopback port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}
