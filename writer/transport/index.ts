// The writer's peer transport for Raft messages (see peer-transport.ts for the design). The
// writer shell builds one PeerTransport per node, feeds it the Raft core's outgoing messages
// with send(), steps the core with what onMessage() delivers, and calls updatePeers() when a
// membership change commits. TcpProxy (tcp-proxy.ts) is test tooling for network partitions.

export { PeerTransport, type MessageHandler, type PeerTransportOptions } from './peer-transport.ts';
export type { PeerStats, TransportStats } from './peer-counters.ts';
export { defaultTransportLimits, validateTransportLimits, type TransportLimits } from './transport-limits.ts';
export { formatPeerAddress, parsePeerAddress, type PeerAddress } from './peer-address.ts';
export { protocolVersion } from './handshake.ts';
