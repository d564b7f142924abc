import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Heartbeat } from '../raft/message.ts';
import { TcpProxy } from './tcp-proxy.ts';
import { heartbeat, sleep, startNode, waitFor, type TestNode } from './test/transport-fixtures.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function node(...args: Parameters<typeof startNode>): Promise<TestNode> {
  const created = await startNode(...args);
  cleanups.push(() => created.transport.stop());
  return created;
}

async function proxyTo(address: string): Promise<{ proxy: TcpProxy; address: string }> {
  const [host, port] = address.split(':');
  const proxy = new TcpProxy({ listen: { host: '127.0.0.1', port: 0 }, target: { host: host ?? '', port: Number(port) } });
  const bound = await proxy.start();
  cleanups.push(() => proxy.stop());
  return { proxy, address: `${bound.host}:${bound.port}` };
}

/** A server that echoes what it reads, and a client connected to it through a proxy. */
async function echoThroughProxy(): Promise<{ proxy: TcpProxy; client: net.Socket; echoed: () => string }> {
  const server = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const serverAddress = server.address();
  if (serverAddress === null || typeof serverAddress !== 'object') throw new Error('no address');
  cleanups.push(() => new Promise((resolve) => {
    server.close(() => resolve());
  }));
  const { proxy, address } = await proxyTo(`127.0.0.1:${serverAddress.port}`);
  const client = net.connect({ host: '127.0.0.1', port: Number(address.split(':')[1]) });
  client.on('error', () => {});
  cleanups.push(async () => {
    client.destroy();
  });
  let text = '';
  client.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  return { proxy, client, echoed: () => text };
}

describe('TcpProxy', () => {
  it('forwards both ways, holds a blocked direction, and lets it flow again on unblock', async () => {
    const { proxy, client, echoed } = await echoThroughProxy();
    client.write('one ');
    await waitFor('the echo', () => echoed() === 'one ');
    proxy.block('client_to_target');
    client.write('two ');
    await sleep(50);
    expect(echoed()).toBe('one ');
    expect(proxy.stats().clientToTargetBytes).toBe(4);
    proxy.unblock('client_to_target');
    await waitFor('the held bytes', () => echoed() === 'one two ');
    proxy.block('target_to_client');
    client.write('three');
    await waitFor('the bytes reached the server side', () => proxy.stats().clientToTargetBytes === 13);
    await sleep(50);
    expect(echoed()).toBe('one two ');
    proxy.unblock();
    await waitFor('the echo of three', () => echoed() === 'one two three');
  });

  it('drops every connection at once and can refuse new ones', async () => {
    const { proxy, client } = await echoThroughProxy();
    let closed = false;
    client.on('close', () => {
      closed = true;
    });
    await waitFor('the proxied connection', () => proxy.stats().openConnections === 1);
    proxy.dropConnections();
    await waitFor('the client saw the close', () => closed);
    expect(proxy.stats().openConnections).toBe(0);
    proxy.refuseConnections(true);
    const refused = net.connect({ host: '127.0.0.1', port: proxy.address().port });
    refused.on('error', () => {});
    await new Promise<void>((resolve) => refused.once('close', () => resolve()));
    expect(proxy.stats()).toMatchObject({ acceptedConnections: 1, refusedConnections: 1, openConnections: 0 });
  });

  it('cuts a transport link and restores it, with the transport reconnecting by itself', async () => {
    const b = await node('b');
    const link = await proxyTo(b.address);
    const a = await node('a', { peers: { b: link.address }, limits: { connectTimeoutMs: 100 } });
    await waitFor('a connected through the proxy', () => a.transport.stats().peers.b?.connected === true);
    a.transport.send([heartbeat('a', 'b', 1)]);
    await waitFor('b received through the proxy', () => b.received.length === 1);

    // Partition: nothing moves and the existing connection is gone.
    link.proxy.block('both');
    link.proxy.dropConnections();
    await waitFor('a lost b', () => a.transport.stats().peers.b?.connected === false);
    // Redials reach the proxy but their handshakes go nowhere, so they time out.
    await waitFor('a redial timed out', () => a.captured.lines.some((line) => String(line.problem).startsWith('connect_timeout')));
    a.transport.send([heartbeat('a', 'b', 2)]);
    expect(a.transport.stats().peers.b?.droppedDisconnected).toBe(1);
    await sleep(50);
    expect(b.received.length).toBe(1);

    // Heal: the transport finds its way back and traffic flows.
    link.proxy.unblock('both');
    await waitFor('a reconnected', () => a.transport.stats().peers.b?.connected === true, 3_000);
    a.transport.send([heartbeat('a', 'b', 3)]);
    await waitFor('b received after the heal', () => b.received.some((message) => (message as Heartbeat).commit === 3));
    expect(b.received.map((message) => (message as Heartbeat).commit)).not.toContain(2);
    expect(a.transport.stats().peers.b?.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('lets the transport give up on a peer that stopped reading (write stall) and drop what was queued', async () => {
    const b = await node('b');
    const link = await proxyTo(b.address);
    const a = await node('a', { peers: { b: link.address }, limits: { writeStallTimeoutMs: 300 } });
    await waitFor('a connected through the proxy', () => a.transport.stats().peers.b?.connected === true);
    link.proxy.block('client_to_target');
    const chunk = new Uint8Array(1024 * 1024);
    // 48 MiB: more than the loopback socket buffers on both sides of the proxy can hold.
    a.transport.send(Array.from({ length: 48 }, (_, index) => ({
      type: 'install_snapshot' as const, from: 'a', to: 'b', term: 1, metadata: { index: 1, term: 1, membership: { voters: ['a', 'b'], learners: [] } },
      offset: index * chunk.length, chunk, done: false,
    })));
    await waitFor('a gave up on the stalled connection', () => a.captured.lines.some((line) => line.problem === 'write_stalled: the peer read nothing for 300 ms'), 5_000);
    const stats = a.transport.stats().peers.b;
    expect(stats?.connected).toBe(false);
    expect(stats?.queuedMessages).toBe(0);
    expect(stats?.droppedDisconnected).toBeGreaterThan(0);
  });
});
