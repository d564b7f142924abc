// The writer's peer transport for Raft messages: one outbound TCP connection per peer (we dial
// it; the peer dials us for the other direction), inbound connections accepted on the listen
// port, length-prefixed binary frames (frame.ts), a handshake first (handshake.ts), batched
// writes from bounded per-peer queues, and redial with backoff. `send()` never blocks and never
// throws for a down peer: Raft tolerates loss and resends, so what cannot go out now is dropped
// and counted.

import assert from 'node:assert/strict';
import net from 'node:net';
import { ConfigError } from '../../common/config.ts';
import type { Logger } from '../../common/logger.ts';
import { encodeMessage } from '../raft/message-codec.ts';
import type { Message } from '../raft/message.ts';
import { frameTypeBytes } from './frame.ts';
import { InboundConnection } from './inbound-connection.ts';
import { OutboundLink } from './outbound-link.ts';
import { formatPeerAddress, parsePeerAddress, type PeerAddress } from './peer-address.ts';
import { newPeerCounters, type PeerCounters, type PeerStats, type TransportStats } from './peer-counters.ts';
import { defaultTransportLimits, validateTransportLimits, type TransportLimits } from './transport-limits.ts';

export interface PeerTransportOptions {
  readonly nodeId: string;
  readonly clusterId: string;
  /** Port 0 picks a free port (tests); `address()` tells which. */
  readonly listen: { readonly host: string; readonly port: number };
  /** nodeId → 'host:port' of its peer port; this node's own entry, if present, is ignored. */
  readonly peers: Readonly<Record<string, string>>;
  readonly log: Logger;
  readonly limits?: Partial<TransportLimits>;
  /** Jitter source for reconnect backoff, in [0, 1); Math.random unless a test fixes it. */
  readonly random?: () => number;
}

export type MessageHandler = (message: Message) => void;

type TransportState = 'created' | 'starting' | 'running' | 'stopped';

export class PeerTransport {
  readonly #nodeId: string;
  readonly #clusterId: string;
  readonly #listen: { readonly host: string; readonly port: number };
  readonly #limits: TransportLimits;
  readonly #log: Logger;
  readonly #random: () => number;
  readonly #server: net.Server;
  #state: TransportState = 'created';
  #peers = new Map<string, PeerAddress>();
  readonly #links = new Map<string, OutboundLink>();
  /** Counters per node id, kept across reconnects, address changes and removal. */
  readonly #counters = new Map<string, PeerCounters>();
  readonly #inbound = new Set<InboundConnection>();
  #handler: MessageHandler | undefined;
  #unreachableHandler: ((peerId: string) => void) | undefined;
  #refusedConnections = 0;
  #unroutableMessages = 0;

  constructor(options: PeerTransportOptions) {
    const limits = { ...defaultTransportLimits, ...options.limits };
    const problems = validateTransportLimits(limits);
    if (options.nodeId.length === 0) problems.push('nodeId must not be empty');
    if (options.clusterId.length === 0) problems.push('clusterId must not be empty');
    const peers = parsePeers(options.peers, options.nodeId, problems);
    if (problems.length > 0) throw new ConfigError(problems.map((problem) => `transport: ${problem}`));
    this.#nodeId = options.nodeId;
    this.#clusterId = options.clusterId;
    this.#listen = options.listen;
    this.#limits = limits;
    this.#log = options.log.child({ nodeId: options.nodeId });
    this.#random = options.random ?? Math.random;
    this.#peers = peers;
    this.#server = net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: limits.keepAliveInitialDelayMs });
    this.#server.on('connection', (socket) => this.#onConnection(socket));
  }

  /** Listens on the peer port and starts dialing every peer; resolves once listening. */
  async start(): Promise<PeerAddress> {
    assert.equal(this.#state, 'created', 'a transport starts once');
    this.#state = 'starting';
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.#listen.host, port: this.#listen.port }, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    this.#server.on('error', (error) => this.#log.error({ problem: error.message }, 'peer listener error'));
    this.#state = 'running';
    for (const [peerId, address] of this.#peers) this.#startLink(peerId, address);
    const address = this.address();
    this.#log.info({ listen: formatPeerAddress(address), peers: Object.fromEntries([...this.#peers].map(([id, a]) => [id, formatPeerAddress(a)])) }, 'peer transport started');
    return address;
  }

  /** The bound listen address (after start). */
  address(): PeerAddress {
    const bound = this.#server.address();
    assert.ok(bound !== null && typeof bound === 'object', 'the transport is not listening');
    return { host: bound.address, port: bound.port };
  }

  /**
   * Queues each message for `message.to`. Never blocks and never throws for a down or unknown
   * peer: such messages are dropped and counted (stats()).
   */
  send(messages: readonly Message[]): void {
    for (const message of messages) {
      const link = this.#links.get(message.to);
      if (link === undefined) {
        this.#unroutableMessages++;
        continue;
      }
      const counters = this.#countersFor(message.to);
      if (!link.connected) {
        counters.droppedDisconnected++;
        continue;
      }
      const payload = encodeMessage(message);
      if (payload.length + frameTypeBytes > this.#limits.frameBytesMax) {
        counters.droppedOversize++;
        this.#log.error({ peer: message.to, type: message.type, bytes: payload.length, frameBytesMax: this.#limits.frameBytesMax }, 'dropping a message larger than frameBytesMax');
        continue;
      }
      link.enqueue(payload);
    }
  }

  /** Sets the one handler for received messages (called synchronously, in arrival order per connection). */
  onMessage(handler: MessageHandler): void {
    this.#handler = handler;
  }

  /**
   * Called with a peer's id each time a connection attempt to it fails (no connection, or closed
   * before the handshake completed): after a lost connection that is the first sign its process
   * is gone, well before an election timeout would tell.
   */
  onPeerUnreachable(handler: (peerId: string) => void): void {
    this.#unreachableHandler = handler;
  }

  /** Applies a membership change: dials new peers, closes removed ones, redials moved ones. */
  updatePeers(peers: Readonly<Record<string, string>>): void {
    assert.notEqual(this.#state, 'stopped', 'updatePeers after stop');
    const problems: string[] = [];
    const next = parsePeers(peers, this.#nodeId, problems);
    if (problems.length > 0) throw new ConfigError(problems.map((problem) => `transport: ${problem}`));
    for (const [peerId, link] of this.#links) {
      const address = next.get(peerId);
      const previous = this.#peers.get(peerId);
      if (address !== undefined && previous !== undefined && sameAddress(address, previous)) continue;
      link.close();
      this.#links.delete(peerId);
      this.#log.info({ peer: peerId, address: address === undefined ? undefined : formatPeerAddress(address) }, address === undefined ? 'peer removed' : 'peer address changed');
    }
    this.#peers = next;
    if (this.#state !== 'running') return;
    for (const [peerId, address] of next) {
      if (!this.#links.has(peerId)) this.#startLink(peerId, address);
    }
  }

  /** Closes the listener, every connection and every timer. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasListening = this.#state === 'running' || this.#state === 'starting';
    this.#state = 'stopped';
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
    for (const connection of this.#inbound) connection.close();
    this.#inbound.clear();
    if (wasListening) {
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    }
    this.#log.info('peer transport stopped');
  }

  stats(): TransportStats {
    const peers: Record<string, PeerStats> = {};
    const inboundByPeer = new Map<string, number>();
    let pendingInboundConnections = 0;
    for (const connection of this.#inbound) {
      const peerId = connection.peerId;
      if (peerId === undefined) pendingInboundConnections++;
      else inboundByPeer.set(peerId, (inboundByPeer.get(peerId) ?? 0) + 1);
    }
    const ids = new Set([...this.#peers.keys(), ...this.#counters.keys()]);
    for (const peerId of [...ids].sort()) {
      const counters = this.#countersFor(peerId);
      const link = this.#links.get(peerId);
      const address = this.#peers.get(peerId);
      peers[peerId] = {
        ...counters,
        address: address === undefined ? undefined : formatPeerAddress(address),
        connected: link?.connected ?? false,
        inboundConnections: inboundByPeer.get(peerId) ?? 0,
        queuedMessages: link?.queuedMessages ?? 0,
        queuedBytes: link?.queuedBytes ?? 0,
        dropped: counters.droppedQueueFull + counters.droppedDisconnected + counters.droppedOversize,
      };
    }
    return {
      nodeId: this.#nodeId,
      listening: this.#state === 'running',
      pendingInboundConnections,
      refusedConnections: this.#refusedConnections,
      unroutableMessages: this.#unroutableMessages,
      peers,
    };
  }

  #startLink(peerId: string, address: PeerAddress): void {
    const link = new OutboundLink({
      local: { nodeId: this.#nodeId, clusterId: this.#clusterId },
      peerId,
      address,
      limits: this.#limits,
      log: this.#log,
      counters: this.#countersFor(peerId),
      random: this.#random,
      onUnreachable: () => this.#unreachableHandler?.(peerId),
    });
    this.#links.set(peerId, link);
    link.start();
  }

  #countersFor(peerId: string): PeerCounters {
    let counters = this.#counters.get(peerId);
    if (counters === undefined) {
      counters = newPeerCounters();
      this.#counters.set(peerId, counters);
    }
    return counters;
  }

  #onConnection(socket: net.Socket): void {
    if (this.#state !== 'running' || this.#inbound.size >= this.#limits.inboundConnectionsMax) {
      this.#refusedConnections++;
      this.#log.warn({ remoteAddress: socket.remoteAddress, inboundConnections: this.#inbound.size, inboundConnectionsMax: this.#limits.inboundConnectionsMax }, 'refusing peer connection: too many connections');
      socket.destroy();
      return;
    }
    const connection = new InboundConnection(socket, {
      local: { nodeId: this.#nodeId, clusterId: this.#clusterId },
      limits: this.#limits,
      log: this.#log,
      onAccepted: (accepted, peerId) => {
        // A peer has one outbound connection to us: a new one means the old one is dead or dying.
        for (const other of this.#inbound) {
          if (other !== accepted && other.peerId === peerId) {
            other.close();
            this.#inbound.delete(other);
          }
        }
        // The peer is up (it just dialed us): if our own link to it is backing off after failed
        // attempts — it was down until now — dial it at once rather than when the backoff ends.
        // Until then Raft could hear from it but not answer it (up to reconnectDelayMsMax).
        this.#links.get(peerId)?.redialNow();
        return this.#countersFor(peerId);
      },
      onRefused: () => {
        this.#refusedConnections++;
      },
      onMessage: (message) => this.#handler?.(message),
      onClosed: (closed) => {
        this.#inbound.delete(closed);
      },
    });
    this.#inbound.add(connection);
  }
}

function parsePeers(peers: Readonly<Record<string, string>>, nodeId: string, problems: string[]): Map<string, PeerAddress> {
  const parsed = new Map<string, PeerAddress>();
  for (const [peerId, text] of Object.entries(peers)) {
    if (peerId === nodeId) continue;
    if (peerId.length === 0) {
      problems.push('a peer id must not be empty');
      continue;
    }
    const result = parsePeerAddress(text);
    if (!result.ok) problems.push(`peer ${peerId}: ${result.reason}`);
    else parsed.set(peerId, result.address);
  }
  return parsed;
}

function sameAddress(left: PeerAddress, right: PeerAddress): boolean {
  return left.host === right.host && left.port === right.port;
}
