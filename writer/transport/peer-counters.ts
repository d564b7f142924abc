// Per-peer counters of the transport, kept across reconnects and address changes and reported
// by PeerTransport.stats(). Plain mutable numbers: the transport's shell owns them.

export interface PeerCounters {
  /** Messages dropped because the queue was full (messages or bytes). */
  droppedQueueFull: number;
  /** Messages dropped because the peer was not connected (sent while down, or queued when it went down). */
  droppedDisconnected: number;
  /** Messages too large for one frame (a configuration mismatch with the Raft core's bounds). */
  droppedOversize: number;
  /** Frames and bytes (headers included) handed to the outbound socket. */
  sentFrames: number;
  sentBytes: number;
  /** Frames and bytes (headers included) read from this peer's inbound connections. */
  receivedFrames: number;
  receivedBytes: number;
  /** Inbound messages dropped: undecodable, or not from this peer, or not addressed to us. */
  receivedRejected: number;
  /** Dials started, dials that completed the handshake, and completed ones after the first. */
  connectAttempts: number;
  connects: number;
  reconnects: number;
}

export function newPeerCounters(): PeerCounters {
  return {
    droppedQueueFull: 0,
    droppedDisconnected: 0,
    droppedOversize: 0,
    sentFrames: 0,
    sentBytes: 0,
    receivedFrames: 0,
    receivedBytes: 0,
    receivedRejected: 0,
    connectAttempts: 0,
    connects: 0,
    reconnects: 0,
  };
}

export interface PeerStats extends Readonly<PeerCounters> {
  /** Configured address, or undefined for a node that only dialed us (not in our peer list). */
  readonly address: string | undefined;
  /** Our outbound connection has completed its handshake. */
  readonly connected: boolean;
  /** Accepted connections from this peer that completed their handshake. */
  readonly inboundConnections: number;
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  /** All drops: queue full + disconnected + oversize. */
  readonly dropped: number;
}

export interface TransportStats {
  readonly nodeId: string;
  readonly listening: boolean;
  /** Accepted connections still in their handshake. */
  readonly pendingInboundConnections: number;
  /** Accepted connections refused (bad handshake, over the connection bound, timeouts). */
  readonly refusedConnections: number;
  /** Messages whose `to` is not a known peer. */
  readonly unroutableMessages: number;
  readonly peers: Readonly<Record<string, PeerStats>>;
}
