// Our persistent outbound connection to one peer: dial, handshake, batched writes from a bounded
// queue, and redial with backoff whenever the connection fails or is lost. Only this side writes
// Raft messages on it (the peer sends ours back on its own outbound connection to us).
//
// States: idle (not started) → connecting (TCP connect + handshake, under connectTimeoutMs) →
// connected → waiting (backoff timer) → connecting … ; closed is final. Messages are accepted
// only while connected; at any other time they are dropped and counted (Raft resends on its own).

import assert from 'node:assert/strict';
import net from 'node:net';
import type { Logger } from '../../common/logger.ts';
import { FrameDecoder } from './frame-decoder.ts';
import { encodeFrame, frameBytes, frameTypes, writeFrame } from './frame.ts';
import {
  checkOutboundHandshake, decodeHandshake, decodeRejection, describeHandshakeError, encodeHandshake,
  handshakeFrameBytesMax, protocolVersion,
} from './handshake.ts';
import type { PeerAddress } from './peer-address.ts';
import type { PeerCounters } from './peer-counters.ts';
import { reconnectDelayMs } from './reconnect-backoff.ts';
import type { TransportLimits } from './transport-limits.ts';

export interface OutboundLinkOptions {
  readonly local: { readonly nodeId: string; readonly clusterId: string };
  readonly peerId: string;
  readonly address: PeerAddress;
  readonly limits: TransportLimits;
  readonly log: Logger;
  readonly counters: PeerCounters;
  /** Jitter source for the backoff, in [0, 1). */
  readonly random: () => number;
  /** Called after each attempt that did not reach `connected`. */
  readonly onUnreachable?: () => void;
}

type LinkState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

export class OutboundLink {
  readonly #options: OutboundLinkOptions;
  readonly #log: Logger;
  #state: LinkState = 'idle';
  #socket: net.Socket | undefined;
  /** Encoded messages waiting for the socket, oldest first. */
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #flushScheduled = false;
  #awaitingDrain = false;
  #connectTimer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  /** Running while a write waits for 'drain'. */
  #stallTimer: NodeJS.Timeout | undefined;
  /** Consecutive attempts that did not reach `connected`. */
  #failures = 0;
  #lastProblem: string | undefined;

  constructor(options: OutboundLinkOptions) {
    this.#options = options;
    this.#log = options.log.child({ peer: options.peerId, peerAddress: `${options.address.host}:${options.address.port}` });
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  get queuedMessages(): number {
    return this.#queue.length;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  start(): void {
    assert.equal(this.#state, 'idle', 'an outbound link starts once');
    this.#dial();
  }

  /** Ends a backoff wait and dials now, counting from no failures (the peer was seen to be up). */
  redialNow(): void {
    if (this.#state !== 'waiting') return;
    clearTimeout(this.#reconnectTimer);
    this.#failures = 0;
    this.#log.info('peer dialed us: redialing it now instead of after the backoff');
    this.#dial();
  }

  /** Queues one encoded message; drops (and counts) it when not connected or the queue is full. */
  enqueue(payload: Uint8Array): void {
    const counters = this.#options.counters;
    if (this.#state !== 'connected') {
      counters.droppedDisconnected++;
      return;
    }
    const limits = this.#options.limits;
    const bytes = frameBytes(payload.length);
    if (this.#queue.length >= limits.queuedMessagesMax || this.#queuedBytes + bytes > limits.queuedBytesMax) {
      counters.droppedQueueFull++;
      return;
    }
    this.#queue.push(payload);
    this.#queuedBytes += bytes;
    this.#scheduleFlush();
  }

  /** Closes for good: the socket, the timers, the queue. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#stallTimer);
    this.#dropQueue(false);
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #dial(): void {
    const { address, limits, counters, local, peerId } = this.#options;
    this.#state = 'connecting';
    counters.connectAttempts++;
    const socket = net.connect({
      host: address.host,
      port: address.port,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: limits.keepAliveInitialDelayMs,
    });
    this.#socket = socket;
    const decoder = new FrameDecoder(handshakeFrameBytesMax);
    this.#connectTimer = setTimeout(() => {
      this.#lastProblem = `connect_timeout: no connection and handshake within ${limits.connectTimeoutMs} ms`;
      socket.destroy();
    }, limits.connectTimeoutMs);
    socket.on('connect', () => {
      socket.write(encodeFrame(frameTypes.handshake, encodeHandshake({ protocolVersion, clusterId: local.clusterId, nodeId: local.nodeId })));
    });
    socket.on('data', (chunk: Buffer) => this.#onData(socket, decoder, chunk, peerId));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.#lastProblem ??= `${error.code ?? 'socket_error'}: ${error.message}`;
    });
    socket.on('close', () => this.#onClose(socket));
  }

  #onData(socket: net.Socket, decoder: FrameDecoder, chunk: Buffer, peerId: string): void {
    if (socket !== this.#socket) return;
    const result = decoder.push(chunk);
    if (!result.ok) {
      this.#fail(socket, `${result.error.code}: bad frame from the acceptor`, 'warn');
      return;
    }
    for (const frame of result.frames) {
      if (this.#state !== 'connecting') {
        this.#fail(socket, `protocol_error: unexpected frame type ${frame.type} after the handshake`, 'warn');
        return;
      }
      if (frame.type === frameTypes.handshakeRejected) {
        this.#fail(socket, `handshake_rejected by the peer: ${decodeRejection(frame.payload)}`, 'warn');
        return;
      }
      if (frame.type !== frameTypes.handshake) {
        this.#fail(socket, `protocol_error: expected a handshake, got frame type ${frame.type}`, 'warn');
        return;
      }
      const decoded = decodeHandshake(frame.payload);
      const problem = decoded.ok
        ? checkOutboundHandshake(decoded.handshake, { clusterId: this.#options.local.clusterId, peerId })
        : decoded.error;
      if (problem !== undefined) {
        this.#fail(socket, describeHandshakeError(problem), 'warn');
        return;
      }
      this.#onConnected();
    }
  }

  #onConnected(): void {
    const counters = this.#options.counters;
    clearTimeout(this.#connectTimer);
    this.#state = 'connected';
    counters.connects++;
    if (counters.connects > 1) counters.reconnects++;
    this.#log.info({ afterAttempts: this.#failures + 1 }, 'connected to peer');
    this.#failures = 0;
    this.#lastProblem = undefined;
  }

  /** Logs the problem, destroys the socket and schedules the redial at once (not on 'close'). */
  #fail(socket: net.Socket, problem: string, level: 'warn' | 'info'): void {
    this.#lastProblem = problem;
    this.#log[level]({ problem }, 'closing connection to peer');
    socket.destroy();
    this.#onClose(socket);
  }

  #onClose(socket: net.Socket): void {
    if (socket !== this.#socket) return;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#stallTimer);
    this.#socket = undefined;
    this.#awaitingDrain = false;
    if (this.#state === 'closed') return;
    const wasConnected = this.#state === 'connected';
    this.#dropQueue(true);
    // The first redial after losing an established connection goes at once: if it fails, the
    // peer's process is most likely gone, and Raft is told (onUnreachable) without waiting a backoff.
    const delayMs = wasConnected ? 0 : reconnectDelayMs(
      { delayMsMin: this.#options.limits.reconnectDelayMsMin, delayMsMax: this.#options.limits.reconnectDelayMsMax },
      this.#failures,
      this.#options.random,
    );
    const details = { problem: this.#lastProblem ?? 'closed by the peer', failures: this.#failures, reconnectInMs: delayMs };
    // A lost connection is news; repeated failures to reach a down peer are not (once, then debug).
    if (wasConnected) this.#log.warn(details, 'connection to peer lost');
    else if (this.#failures === 0) this.#log.info(details, 'cannot reach peer');
    else this.#log.debug(details, 'cannot reach peer');
    if (!wasConnected) this.#failures++;
    this.#lastProblem = undefined;
    if (!wasConnected) this.#options.onUnreachable?.();
    this.#state = 'waiting';
    this.#reconnectTimer = setTimeout(() => {
      if (this.#state === 'waiting') this.#dial();
    }, delayMs);
  }

  #dropQueue(count: boolean): void {
    if (count) this.#options.counters.droppedDisconnected += this.#queue.length;
    this.#queue = [];
    this.#queuedBytes = 0;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#awaitingDrain) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  /** One write of as many queued frames as fit `writeBytesMax` (at least one). */
  #flush(): void {
    const socket = this.#socket;
    if (this.#state !== 'connected' || socket === undefined || this.#queue.length === 0) return;
    const writeBytesMax = this.#options.limits.writeBytesMax;
    let count = 0;
    let bytes = 0;
    for (const payload of this.#queue) {
      const next = frameBytes(payload.length);
      if (count > 0 && bytes + next > writeBytesMax) break;
      count++;
      bytes += next;
    }
    const batch = this.#queue.splice(0, count);
    this.#queuedBytes -= bytes;
    const buffer = Buffer.allocUnsafe(bytes);
    let offset = 0;
    for (const payload of batch) offset = writeFrame(buffer, offset, frameTypes.message, payload);
    assert.equal(offset, bytes);
    const counters = this.#options.counters;
    counters.sentFrames += count;
    counters.sentBytes += bytes;
    const flushed = socket.write(buffer);
    if (this.#queue.length === 0) return;
    if (flushed) {
      this.#scheduleFlush();
      return;
    }
    this.#awaitingDrain = true;
    const stallTimeoutMs = this.#options.limits.writeStallTimeoutMs;
    this.#stallTimer = setTimeout(() => {
      if (socket !== this.#socket) return;
      this.#fail(socket, `write_stalled: the peer read nothing for ${stallTimeoutMs} ms`, 'warn');
    }, stallTimeoutMs);
    socket.once('drain', () => {
      clearTimeout(this.#stallTimer);
      if (socket !== this.#socket) return;
      this.#awaitingDrain = false;
      this.#scheduleFlush();
    });
  }
}
