// A loopback TCP proxy for tests: put it between a dialer and a listener (e.g. one proxy per
// directed link A→B of a Raft cluster) and cut the link on demand.
//
// - block('both' | 'client_to_target' | 'target_to_client'): bytes stop moving in the blocked
//   direction(s), on existing and new connections. Nothing is discarded mid-stream (that would
//   break the framing, which no real network does to TCP): reading pauses, so the sender's
//   socket buffers fill up as they would behind a partition, and the bytes flow again on
//   unblock() unless the connections were dropped first.
// - dropConnections(): destroys every proxied connection at once (both sides see a reset or a
//   close), like a partition long enough for TCP to give up. With a block in place, new
//   connections are accepted but their blocked direction moves nothing (a handshake then times out).
// - refuseConnections(true): new connections are closed as soon as they are accepted.

import assert from 'node:assert/strict';
import net from 'node:net';

export type ProxyDirection = 'both' | 'client_to_target' | 'target_to_client';

export interface TcpProxyOptions {
  readonly listen: { readonly host: string; readonly port: number };
  readonly target: { readonly host: string; readonly port: number };
  /** Open proxied connections at once; more are closed on accept. */
  readonly connectionsMax?: number;
}

export interface TcpProxyStats {
  readonly openConnections: number;
  readonly acceptedConnections: number;
  readonly refusedConnections: number;
  readonly clientToTargetBytes: number;
  readonly targetToClientBytes: number;
}

const defaultConnectionsMax = 256;

interface ProxiedConnection {
  readonly client: net.Socket;
  readonly target: net.Socket;
  /** Waiting for 'drain' on the destination of each direction. */
  clientToTargetDraining: boolean;
  targetToClientDraining: boolean;
}

export class TcpProxy {
  readonly #options: TcpProxyOptions;
  readonly #connectionsMax: number;
  readonly #server: net.Server;
  readonly #connections = new Set<ProxiedConnection>();
  #clientToTargetBlocked = false;
  #targetToClientBlocked = false;
  #refusing = false;
  #accepted = 0;
  #refused = 0;
  #clientToTargetBytes = 0;
  #targetToClientBytes = 0;

  constructor(options: TcpProxyOptions) {
    this.#options = options;
    this.#connectionsMax = options.connectionsMax ?? defaultConnectionsMax;
    this.#server = net.createServer((client) => this.#onConnection(client));
  }

  async start(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host: this.#options.listen.host, port: this.#options.listen.port }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return this.address();
  }

  address(): { host: string; port: number } {
    const bound = this.#server.address();
    assert.ok(bound !== null && typeof bound === 'object', 'the proxy is not listening');
    return { host: bound.address, port: bound.port };
  }

  block(direction: ProxyDirection = 'both'): void {
    if (direction !== 'target_to_client') this.#clientToTargetBlocked = true;
    if (direction !== 'client_to_target') this.#targetToClientBlocked = true;
    for (const connection of this.#connections) this.#updateFlow(connection);
  }

  unblock(direction: ProxyDirection = 'both'): void {
    if (direction !== 'target_to_client') this.#clientToTargetBlocked = false;
    if (direction !== 'client_to_target') this.#targetToClientBlocked = false;
    for (const connection of this.#connections) this.#updateFlow(connection);
  }

  refuseConnections(refusing: boolean): void {
    this.#refusing = refusing;
  }

  dropConnections(): void {
    for (const connection of this.#connections) {
      connection.client.destroy();
      connection.target.destroy();
    }
    this.#connections.clear();
  }

  stats(): TcpProxyStats {
    return {
      openConnections: this.#connections.size,
      acceptedConnections: this.#accepted,
      refusedConnections: this.#refused,
      clientToTargetBytes: this.#clientToTargetBytes,
      targetToClientBytes: this.#targetToClientBytes,
    };
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onConnection(client: net.Socket): void {
    if (this.#refusing || this.#connections.size >= this.#connectionsMax) {
      this.#refused++;
      client.destroy();
      return;
    }
    this.#accepted++;
    client.setNoDelay(true);
    const target = net.connect({ host: this.#options.target.host, port: this.#options.target.port, noDelay: true });
    const connection: ProxiedConnection = { client, target, clientToTargetDraining: false, targetToClientDraining: false };
    this.#connections.add(connection);
    const closeBoth = (): void => {
      client.destroy();
      target.destroy();
      this.#connections.delete(connection);
    };
    client.on('error', closeBoth);
    target.on('error', closeBoth);
    client.on('close', closeBoth);
    target.on('close', closeBoth);
    client.on('data', (chunk: Buffer) => {
      this.#clientToTargetBytes += chunk.length;
      if (!target.write(chunk)) {
        connection.clientToTargetDraining = true;
        this.#updateFlow(connection);
      }
    });
    target.on('data', (chunk: Buffer) => {
      this.#targetToClientBytes += chunk.length;
      if (!client.write(chunk)) {
        connection.targetToClientDraining = true;
        this.#updateFlow(connection);
      }
    });
    target.on('drain', () => {
      connection.clientToTargetDraining = false;
      this.#updateFlow(connection);
    });
    client.on('drain', () => {
      connection.targetToClientDraining = false;
      this.#updateFlow(connection);
    });
    this.#updateFlow(connection);
  }

  /** Reads from a side only while its direction is open and its destination keeps up. */
  #updateFlow(connection: ProxiedConnection): void {
    if (this.#clientToTargetBlocked || connection.clientToTargetDraining) connection.client.pause();
    else connection.client.resume();
    if (this.#targetToClientBlocked || connection.targetToClientDraining) connection.target.pause();
    else connection.target.resume();
  }
}
