// One accepted connection: the dialer's handshake (checked, answered with ours or refused with a
// `handshake_rejected` frame naming the problem), then a stream of message frames from that peer.
// Nothing else is ever written on it after the handshake.

import assert from 'node:assert/strict';
import type net from 'node:net';
import type { Logger } from '../../common/logger.ts';
import { decodeMessage } from '../raft/message-codec.ts';
import type { Message } from '../raft/message.ts';
import { FrameDecoder } from './frame-decoder.ts';
import { encodeFrame, frameBytes, frameTypes } from './frame.ts';
import {
  checkInboundHandshake, decodeHandshake, describeHandshakeError, encodeHandshake, encodeRejection,
  handshakeFrameBytesMax, protocolVersion,
} from './handshake.ts';
import type { PeerCounters } from './peer-counters.ts';
import type { TransportLimits } from './transport-limits.ts';

export interface InboundConnectionOptions {
  readonly local: { readonly nodeId: string; readonly clusterId: string };
  readonly limits: TransportLimits;
  readonly log: Logger;
  /** The handshake succeeded: returns the counters for that peer. */
  readonly onAccepted: (connection: InboundConnection, peerId: string) => PeerCounters;
  /** The handshake failed or timed out. */
  readonly onRefused: (connection: InboundConnection) => void;
  readonly onMessage: (message: Message) => void;
  readonly onClosed: (connection: InboundConnection) => void;
}

export class InboundConnection {
  readonly #socket: net.Socket;
  readonly #options: InboundConnectionOptions;
  readonly #decoder = new FrameDecoder(handshakeFrameBytesMax);
  #log: Logger;
  #peerId: string | undefined;
  #counters: PeerCounters | undefined;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(socket: net.Socket, options: InboundConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#log = options.log.child({ remoteAddress: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}` });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, options.limits.keepAliveInitialDelayMs);
    this.#handshakeTimer = setTimeout(() => {
      this.#refuse(`handshake_timeout: no handshake within ${options.limits.handshakeTimeoutMs} ms`);
    }, options.limits.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.#log.debug({ problem: `${error.code ?? 'socket_error'}: ${error.message}`, peer: this.#peerId }, 'inbound connection error');
    });
    socket.on('close', () => {
      clearTimeout(this.#handshakeTimer);
      options.onClosed(this);
    });
  }

  /** The peer named by the handshake, once it succeeded. */
  get peerId(): string | undefined {
    return this.#peerId;
  }

  close(): void {
    this.#closing = true;
    clearTimeout(this.#handshakeTimer);
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    const result = this.#decoder.push(chunk);
    for (const frame of result.frames) {
      if (this.#closing) return;
      if (this.#peerId === undefined) this.#onHandshakeFrame(frame.type, frame.payload);
      else this.#onPeerFrame(frame.type, frame.payload);
    }
    if (!result.ok && !this.#closing) {
      const error = result.error;
      const problem = error.code === 'frame_too_large'
        ? `frame_too_large: length ${error.lengthBytes} exceeds ${error.frameBytesMax} bytes`
        : 'empty_frame: a frame length of 0';
      if (this.#peerId === undefined) this.#refuse(problem);
      else this.#drop(problem);
    }
  }

  #onHandshakeFrame(type: number, payload: Uint8Array): void {
    if (type !== frameTypes.handshake) {
      this.#refuse(`protocol_error: expected a handshake, got frame type ${type}`);
      return;
    }
    const decoded = decodeHandshake(payload);
    const problem = decoded.ok ? checkInboundHandshake(decoded.handshake, this.#options.local) : decoded.error;
    if (problem !== undefined) {
      this.#refuse(describeHandshakeError(problem), decoded.ok ? decoded.handshake.nodeId : undefined);
      return;
    }
    assert.ok(decoded.ok);
    clearTimeout(this.#handshakeTimer);
    const { local, limits } = this.#options;
    this.#peerId = decoded.handshake.nodeId;
    this.#log = this.#log.child({ peer: this.#peerId });
    this.#decoder.setFrameBytesMax(limits.frameBytesMax);
    this.#socket.write(encodeFrame(frameTypes.handshake, encodeHandshake({ protocolVersion, clusterId: local.clusterId, nodeId: local.nodeId })));
    this.#counters = this.#options.onAccepted(this, this.#peerId);
    this.#log.info('accepted connection from peer');
  }

  #onPeerFrame(type: number, payload: Uint8Array): void {
    const counters = this.#counters;
    assert.ok(counters !== undefined && this.#peerId !== undefined, 'peer frames only after the handshake');
    counters.receivedFrames++;
    counters.receivedBytes += frameBytes(payload.length);
    if (type !== frameTypes.message) {
      this.#drop(`protocol_error: unexpected frame type ${type}`);
      return;
    }
    const decoded = decodeMessage(payload);
    if (!decoded.ok) {
      // The frame boundaries are intact but the peer encodes messages differently: stop listening.
      counters.receivedRejected++;
      this.#drop(`${decoded.error.code}: ${decoded.error.reason}`);
      return;
    }
    const message = decoded.message;
    if (message.from !== this.#peerId || message.to !== this.#options.local.nodeId) {
      counters.receivedRejected++;
      this.#log.warn({ from: message.from, to: message.to, type: message.type }, 'dropping a message not from this peer to this node');
      return;
    }
    this.#options.onMessage(message);
  }

  /** Refuses a connection whose handshake failed: tells the dialer why, logs, closes. */
  #refuse(problem: string, claimedNodeId?: string): void {
    this.#closing = true;
    clearTimeout(this.#handshakeTimer);
    this.#log.warn({ problem, claimedNodeId }, 'refusing peer connection');
    this.#options.onRefused(this);
    this.#socket.end(encodeFrame(frameTypes.handshakeRejected, encodeRejection(problem)));
    // end() flushes the reason then half-closes; do not wait on a dialer that never closes its side.
    setTimeout(() => this.#socket.destroy(), this.#options.limits.handshakeTimeoutMs).unref();
  }

  /** Closes an established connection after a protocol problem (the dialer reconnects). */
  #drop(problem: string): void {
    this.#closing = true;
    this.#log.warn({ problem }, 'closing connection from peer');
    this.#socket.destroy();
  }
}
