// Bounds of the peer transport, validated at construction (a config error, before anything runs).

import { frameLengthLimit } from './frame.ts';

export interface TransportLimits {
  /** Largest frame (type byte + payload) accepted or sent; a larger incoming length closes the connection. */
  readonly frameBytesMax: number;
  /** Messages waiting per peer for the socket; beyond it new messages are dropped (and counted). */
  readonly queuedMessagesMax: number;
  /** Encoded bytes waiting per peer for the socket; beyond it new messages are dropped (and counted). */
  readonly queuedBytesMax: number;
  /** Bytes gathered into one socket write (a single larger frame is written alone). */
  readonly writeBytesMax: number;
  /** First reconnect delay; doubles per failed attempt up to the max, with jitter. */
  readonly reconnectDelayMsMin: number;
  readonly reconnectDelayMsMax: number;
  /** TCP connect plus handshake must finish within this, or the attempt is abandoned. */
  readonly connectTimeoutMs: number;
  /** An accepted connection must present its handshake within this. */
  readonly handshakeTimeoutMs: number;
  /**
   * A write waiting this long for the socket to drain means the peer stopped reading (hung
   * process, dead host behind a partition): the connection is closed and redialed.
   */
  readonly writeStallTimeoutMs: number;
  /** Idle time before TCP keepalive probes start. */
  readonly keepAliveInitialDelayMs: number;
  /** Accepted connections at once (peers, plus stale ones not yet noticed dead). */
  readonly inboundConnectionsMax: number;
}

export const defaultTransportLimits: TransportLimits = {
  frameBytesMax: 64 * 1024 * 1024,
  queuedMessagesMax: 8192,
  queuedBytesMax: 256 * 1024 * 1024,
  writeBytesMax: 1024 * 1024,
  reconnectDelayMsMin: 50,
  reconnectDelayMsMax: 2_000,
  connectTimeoutMs: 2_000,
  handshakeTimeoutMs: 2_000,
  writeStallTimeoutMs: 30_000,
  keepAliveInitialDelayMs: 5_000,
  inboundConnectionsMax: 64,
};

/** Problems with the limits, empty when they are usable. */
export function validateTransportLimits(limits: TransportLimits): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) problems.push(`${name} must be a positive integer (got ${String(value)})`);
  }
  if (limits.frameBytesMax > frameLengthLimit) problems.push(`frameBytesMax must fit the u32 frame length (at most ${frameLengthLimit})`);
  if (limits.reconnectDelayMsMin > limits.reconnectDelayMsMax) problems.push('reconnectDelayMsMin must not exceed reconnectDelayMsMax');
  if (limits.queuedBytesMax < limits.frameBytesMax) problems.push('queuedBytesMax must hold at least one largest frame (frameBytesMax)');
  return problems;
}
