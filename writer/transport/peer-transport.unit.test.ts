import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppendEntries, Heartbeat, Message } from '../raft/message.ts';
import { FrameDecoder } from './frame-decoder.ts';
import { encodeFrame, frameTypes } from './frame.ts';
import { decodeHandshake, encodeHandshake, protocolVersion } from './handshake.ts';
import { PeerTransport } from './peer-transport.ts';
import { capturingLogger, closedPort, heartbeat, sleep, startNode, waitFor, type TestNode } from './test/transport-fixtures.ts';

const started: TestNode[] = [];
async function node(...args: Parameters<typeof startNode>): Promise<TestNode> {
  const created = await startNode(...args);
  started.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((each) => each.transport.stop()));
});

async function connectedPair(): Promise<[TestNode, TestNode]> {
  const a = await node('a');
  const b = await node('b', { peers: { a: a.address } });
  a.transport.updatePeers({ a: a.address, b: b.address });
  await waitFor('a and b connected both ways', () => a.transport.stats().peers.b?.connected === true && b.transport.stats().peers.a?.connected === true);
  return [a, b];
}

function commits(messages: readonly Message[]): number[] {
  return messages.map((message) => (message as Heartbeat).commit);
}

describe('PeerTransport', () => {
  it('delivers thousands of messages each way, in order, with matching frame counts', async () => {
    const [a, b] = await connectedPair();
    const count = 5_000;
    const sequence = Array.from({ length: count }, (_, index) => index);
    // Large enough batches that several frames share one write, sent over several ticks.
    for (let start = 0; start < count; start += 1_000) {
      a.transport.send(sequence.slice(start, start + 1_000).map((index) => heartbeat('a', 'b', index)));
      b.transport.send(sequence.slice(start, start + 1_000).map((index) => heartbeat('b', 'a', index)));
      await sleep(1);
    }
    await waitFor('all messages received', () => a.received.length === count && b.received.length === count);
    expect(commits(b.received)).toEqual(sequence);
    expect(commits(a.received)).toEqual(sequence);
    expect(b.received.every((message) => message.from === 'a' && message.to === 'b')).toBe(true);
    const aToB = a.transport.stats().peers.b;
    const bFromA = b.transport.stats().peers.a;
    expect(aToB?.sentFrames).toBe(count);
    expect(bFromA?.receivedFrames).toBe(count);
    expect(bFromA?.receivedBytes).toBe(aToB?.sentBytes);
    expect(aToB?.dropped).toBe(0);
  });

  it('carries append entries with payloads intact', async () => {
    const [a, b] = await connectedPair();
    const data = new Uint8Array(100_000).map((_, index) => (index * 7) % 256);
    const message: AppendEntries = {
      type: 'append_entries', from: 'a', to: 'b', term: 3, prevLogIndex: 9, prevLogTerm: 2, commit: 8,
      entries: [{ index: 10, term: 3, kind: 'normal', data }, { index: 11, term: 3, kind: 'noop', data: new Uint8Array(0) }],
    };
    a.transport.send([message]);
    await waitFor('the append arrived', () => b.received.length === 1);
    expect(b.received[0]).toEqual(message);
  });

  it('refuses a peer from another cluster, and both sides log the problem', async () => {
    const b = await node('b', { clusterId: 'cluster-b' });
    const a = await node('a', { clusterId: 'cluster-a', peers: { b: b.address } });
    await waitFor('b refused a', () => b.transport.stats().refusedConnections >= 1);
    await waitFor('a logged the refusal', () => a.captured.lines.some((line) => String(line.problem).includes('handshake_rejected')));
    const refusal = b.captured.lines.find((line) => line.msg === 'refusing peer connection');
    expect(refusal?.problem).toBe('cluster_id_mismatch: expected cluster "cluster-b", peer is in "cluster-a"');
    expect(refusal?.claimedNodeId).toBe('a');
    a.transport.send([heartbeat('a', 'b', 1)]);
    expect(a.transport.stats().peers.b?.connected).toBe(false);
    expect(a.transport.stats().peers.b?.droppedDisconnected).toBe(1);
    expect(b.received).toEqual([]);
  });

  it('notices when a peer answers under another node id', async () => {
    const c = await node('c');
    const a = await node('a', { peers: { b: c.address } });
    await waitFor('a logged the wrong node', () => a.captured.lines.some((line) => line.problem === 'unexpected_node_id: expected node "b", reached "c"'));
    expect(a.transport.stats().peers.b?.connected).toBe(false);
  });

  it('reconnects by itself after the peer restarts on the same port', async () => {
    const [a, b] = await connectedPair();
    const port = Number(b.address.split(':')[1]);
    await b.transport.stop();
    await waitFor('a saw b go down', () => a.transport.stats().peers.b?.connected === false);
    a.transport.send([heartbeat('a', 'b', 1)]);
    expect(a.transport.stats().peers.b?.droppedDisconnected).toBe(1);
    await sleep(50); // a few failed redials while b is down
    const restarted = await node('b', { port, peers: { a: a.address } });
    await waitFor('a reconnected to the restarted b', () => a.transport.stats().peers.b?.connected === true);
    a.transport.send([heartbeat('a', 'b', 2)]);
    await waitFor('the restarted b received', () => restarted.received.length === 1);
    expect(commits(restarted.received)).toEqual([2]);
    const stats = a.transport.stats().peers.b;
    expect(stats?.reconnects).toBe(1);
    expect(stats?.connects).toBe(2);
    expect(stats?.connectAttempts).toBeGreaterThan(2);
  });

  it('reports a lost peer as unreachable at once when the redial fails, not after a backoff', async () => {
    const slowBackoff = { reconnectDelayMsMin: 2_000, reconnectDelayMsMax: 4_000 };
    const a = await node('a', { limits: slowBackoff });
    const b = await node('b', { peers: { a: a.address } });
    a.transport.updatePeers({ a: a.address, b: b.address });
    await waitFor('a connected to b', () => a.transport.stats().peers.b?.connected === true);
    const unreachable: string[] = [];
    a.transport.onPeerUnreachable((peer) => unreachable.push(peer));
    const stopped = performance.now();
    await b.transport.stop();
    await waitFor('a told b is unreachable', () => unreachable.length > 0, 1_000);
    expect(unreachable[0]).toBe('b');
    expect(performance.now() - stopped).toBeLessThan(slowBackoff.reconnectDelayMsMin);
  });

  it('redials at once a peer that dials us while our link to it is backing off', async () => {
    const port = await closedPort();
    const a = await node('a', { peers: { b: `127.0.0.1:${port}` }, limits: { reconnectDelayMsMin: 3_000, reconnectDelayMsMax: 6_000 } });
    await waitFor('a failed to reach b once', () => (a.transport.stats().peers.b?.connectAttempts ?? 0) >= 1 && a.transport.stats().peers.b?.connected === false);
    await sleep(50);
    const attemptsBefore = a.transport.stats().peers.b?.connectAttempts;
    const started = performance.now();
    await node('b', { port, peers: { a: a.address } });
    await waitFor('a connected to the b that came up', () => a.transport.stats().peers.b?.connected === true, 2_500);
    expect(performance.now() - started).toBeLessThan(2_500); // the first backoff alone is ≥ 3 s
    expect(a.transport.stats().peers.b?.connectAttempts).toBe((attemptsBefore ?? 0) + 1);
  });

  it('drops and counts what is sent to a peer that is down, queueing nothing', async () => {
    const a = await node('a', { peers: { b: `127.0.0.1:${await closedPort()}` } });
    a.transport.send(Array.from({ length: 100 }, (_, index) => heartbeat('a', 'b', index)));
    a.transport.send([heartbeat('a', 'nobody', 1)]);
    const stats = a.transport.stats();
    expect(stats.peers.b?.droppedDisconnected).toBe(100);
    expect(stats.peers.b?.queuedMessages).toBe(0);
    expect(stats.unroutableMessages).toBe(1);
    await waitFor('a few redials', () => (a.transport.stats().peers.b?.connectAttempts ?? 0) >= 3);
  });

  it('bounds the queue: beyond queuedMessagesMax new messages are dropped and counted', async () => {
    const b = await node('b');
    const a = await node('a', { peers: { b: b.address }, limits: { queuedMessagesMax: 10 } });
    await waitFor('a connected', () => a.transport.stats().peers.b?.connected === true);
    // One synchronous call: the flush runs on the next tick, so the queue fills at 10.
    a.transport.send(Array.from({ length: 50 }, (_, index) => heartbeat('a', 'b', index)));
    expect(a.transport.stats().peers.b).toMatchObject({ queuedMessages: 10, droppedQueueFull: 40, dropped: 40 });
    await waitFor('the queued ten arrived', () => b.received.length === 10);
    expect(commits(b.received)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a.transport.stats().peers.b?.queuedMessages).toBe(0);
  });

  it('bounds the queue by bytes too', async () => {
    const b = await node('b');
    const a = await node('a', { peers: { b: b.address }, limits: { queuedBytesMax: 300_000, frameBytesMax: 200_000 } });
    await waitFor('a connected', () => a.transport.stats().peers.b?.connected === true);
    const big = (index: number): AppendEntries => ({
      type: 'append_entries', from: 'a', to: 'b', term: 1, prevLogIndex: index, prevLogTerm: 1, commit: 0,
      entries: [{ index: index + 1, term: 1, kind: 'normal', data: new Uint8Array(100_000) }],
    });
    a.transport.send([big(0), big(1), big(2), big(3)]);
    expect(a.transport.stats().peers.b).toMatchObject({ queuedMessages: 2, droppedQueueFull: 2 });
    a.transport.send([{ ...big(4), entries: [{ index: 5, term: 1, kind: 'normal', data: new Uint8Array(250_000) }] }]);
    expect(a.transport.stats().peers.b?.droppedOversize).toBe(1);
    await waitFor('the queued two arrived', () => b.received.length === 2);
  });

  it('closes a connection that announces a frame over frameBytesMax', async () => {
    const b = await node('b', { limits: { frameBytesMax: 1024 } });
    const [host, port] = b.address.split(':');
    const socket = net.connect({ host: host ?? '', port: Number(port) });
    const decoder = new FrameDecoder(1024);
    const frames: number[] = [];
    let closed = false;
    socket.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk).frames.map((frame) => frame.type)));
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {});
    socket.write(encodeFrame(frameTypes.handshake, encodeHandshake({ protocolVersion, clusterId: 'test-cluster', nodeId: 'raw' })));
    await waitFor('b answered the handshake', () => frames.length === 1);
    expect(frames).toEqual([frameTypes.handshake]);
    const header = Buffer.from([0, 0, 0x04, 0x01, frameTypes.message]); // length 1025
    socket.write(header);
    await waitFor('b closed the connection', () => closed);
    const line = b.captured.lines.find((each) => each.msg === 'closing connection from peer');
    expect(line?.problem).toBe('frame_too_large: length 1025 exceeds 1024 bytes');
    expect(line?.peer).toBe('raw');
  });

  it('refuses a large frame before the handshake, whatever frameBytesMax is', async () => {
    const b = await node('b');
    const [host, port] = b.address.split(':');
    const socket = net.connect({ host: host ?? '', port: Number(port) });
    const received: Buffer[] = [];
    let closed = false;
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {});
    socket.write(Buffer.from([0x01, 0, 0, 0, frameTypes.handshake])); // 16 MiB "handshake"
    await waitFor('b closed the connection', () => closed);
    const frames = new FrameDecoder(4096).push(Buffer.concat(received)).frames;
    expect(frames[0]?.type).toBe(frameTypes.handshakeRejected);
    expect(new TextDecoder().decode(frames[0]?.payload)).toBe('frame_too_large: length 16777216 exceeds 1024 bytes');
    expect(b.transport.stats().refusedConnections).toBe(1);
  });

  it('follows membership changes: drops a removed peer, dials an added one', async () => {
    const [a, b] = await connectedPair();
    const c = await node('c', { peers: { a: a.address } });
    a.transport.updatePeers({ c: c.address });
    await waitFor('a connected to c', () => a.transport.stats().peers.c?.connected === true);
    expect(a.transport.stats().peers.b?.connected).toBe(false);
    expect(a.transport.stats().peers.b?.address).toBeUndefined();
    a.transport.send([heartbeat('a', 'b', 1), heartbeat('a', 'c', 2)]);
    await waitFor('c received', () => c.received.length === 1);
    expect(a.transport.stats().unroutableMessages).toBe(1);
    expect(b.received).toEqual([]);
  });

  it('backs off between redials of a peer that is down', async () => {
    // random() = 0.5 and 10..100 ms: delays of about 15, 30, 60, 75, 75… ms, so roughly six
    // attempts in 300 ms where redialing every 10 ms would make thirty.
    const a = await node('a', { peers: { b: `127.0.0.1:${await closedPort()}` } });
    await sleep(300);
    const attempts = a.transport.stats().peers.b?.connectAttempts ?? 0;
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(10);
  });

  it('closes an accepted connection that never sends its handshake', async () => {
    const b = await node('b', { limits: { handshakeTimeoutMs: 100 } });
    const socket = net.connect({ host: '127.0.0.1', port: Number(b.address.split(':')[1]) });
    socket.on('error', () => {});
    socket.resume(); // read (and discard) the rejection, so the close is seen
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(b.captured.lines.find((line) => line.msg === 'refusing peer connection')?.problem).toBe('handshake_timeout: no handshake within 100 ms');
    expect(b.transport.stats().refusedConnections).toBe(1);
  });

  it('refuses connections beyond inboundConnectionsMax', async () => {
    const b = await node('b', { limits: { inboundConnectionsMax: 1 } });
    const port = Number(b.address.split(':')[1]);
    const first = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve) => first.once('connect', () => resolve()));
    await waitFor('b holds the first connection', () => b.transport.stats().pendingInboundConnections === 1);
    const second = net.connect({ host: '127.0.0.1', port });
    second.on('error', () => {});
    await new Promise<void>((resolve) => second.once('close', () => resolve()));
    first.destroy();
    expect(b.transport.stats().refusedConnections).toBe(1);
  });

  it('refuses invalid configuration at construction', () => {
    const { log } = capturingLogger();
    expect(() => new PeerTransport({
      nodeId: 'a', clusterId: 'c', listen: { host: '127.0.0.1', port: 0 }, peers: { b: 'no-port' }, log,
      limits: { reconnectDelayMsMin: 500, reconnectDelayMsMax: 100 },
    })).toThrow(/reconnectDelayMsMin must not exceed reconnectDelayMsMax[\s\S]*peer b: "no-port" is not host:port/);
  });

  it('ignores a message claiming another sender', async () => {
    const [a, b] = await connectedPair();
    a.transport.send([heartbeat('z', 'b', 1), heartbeat('a', 'b', 2)]);
    await waitFor('b received the genuine one', () => b.received.length === 1);
    await sleep(10);
    expect(commits(b.received)).toEqual([2]);
    expect(b.transport.stats().peers.a?.receivedRejected).toBe(1);
  });
});

describe('handshake answer', () => {
  it('names the acceptor', async () => {
    const b = await node('b', { clusterId: 'k' });
    const [host, port] = b.address.split(':');
    const socket = net.connect({ host: host ?? '', port: Number(port) });
    const decoder = new FrameDecoder(4096);
    const payloads: Uint8Array[] = [];
    socket.on('data', (chunk: Buffer) => payloads.push(...decoder.push(chunk).frames.map((frame) => frame.payload)));
    socket.write(encodeFrame(frameTypes.handshake, encodeHandshake({ protocolVersion, clusterId: 'k', nodeId: 'x' })));
    await waitFor('an answer', () => payloads.length === 1);
    socket.destroy();
    expect(decodeHandshake(payloads[0] ?? new Uint8Array())).toEqual({ ok: true, handshake: { protocolVersion, clusterId: 'k', nodeId: 'b' } });
  });
});
