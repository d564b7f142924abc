/**
 * The barrier client: batching never hands a read a barrier that started before it (checked
 * against a loopback server that numbers the calls it receives), it fails over across writer URLs,
 * and against a real writer cluster every barrier answered to a read is at or after every write
 * acknowledged before that read began — also with no leader (503) and no node reachable.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaderUrlHeader } from '../common/http/headers.ts';
import { createLogger } from '../common/logger.ts';
import { postJson, WriterCluster } from '../test/support/writer-cluster.ts';
import { BarrierClient, type BarrierResult } from './barrier-client.ts';
import { QueryMetrics } from './metrics.ts';
import { metricValue, unreachableWriterUrl } from './test/query-harness.ts';

const log = createLogger('barrier-test', 'silent');

/**
 * A server whose n-th barrier call (counted on arrival) answers seq n after `delayMs`, with
 * `headers` (e.g. a relaying follower's leader URL).
 */
async function numberingServer(delayMs: number, headers: () => Record<string, string> = () => ({})): Promise<{ url: string; arrivals: () => number; close: () => Promise<void> }> {
  let arrivals = 0;
  const server = http.createServer((request, response) => {
    request.resume();
    arrivals += 1;
    const seq = arrivals;
    setTimeout(() => response.writeHead(200, { 'content-type': 'application/json', ...headers() }).end(JSON.stringify({ shard: 0, seq })), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals: () => arrivals,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('barrier client batching', () => {
  it('shares calls between concurrent reads, each read answered by a call that arrived after the read did', async () => {
    const server = await numberingServer(20);
    const metrics = new QueryMetrics();
    const client = new BarrierClient({ writerUrls: [server.url], log, metrics });
    try {
      const reads: Promise<{ arrivedBefore: number; result: BarrierResult | { ok: false } }>[] = [];
      for (let wave = 0; wave < 12; wave += 1) {
        for (let index = 0; index < 25; index += 1) {
          const arrivedBefore = server.arrivals(); // calls the server had received when this read arrived
          reads.push(client.barrier().then((result) => ({ arrivedBefore, result })));
        }
        await new Promise((resolve) => setTimeout(resolve, 7));
      }
      const answers = await Promise.all(reads);
      for (const { arrivedBefore, result } of answers) {
        expect(result.ok).toBe(true);
        if (result.ok && 'position' in result) expect(result.position.seq).toBeGreaterThan(arrivedBefore);
      }
      const calls = server.arrivals();
      expect(calls).toBeLessThan(answers.length / 5);
      expect(await metricValue(metrics, 'query_barrier_calls_total', { outcome: 'ok' })).toBe(calls);
      expect(await metricValue(metrics, 'query_barrier_reads_per_call_sum')).toBe(answers.length);
    } finally {
      await server.close();
    }
  });

  it('tries the next URL when one cannot be reached, and starts with the one that answered last', async () => {
    const server = await numberingServer(0);
    const client = new BarrierClient({ writerUrls: [unreachableWriterUrl, server.url], log, metrics: new QueryMetrics() });
    try {
      expect(await client.barrier()).toEqual({ ok: true, position: { shard: 0, seq: 1 } });
      expect(await client.barrier()).toEqual({ ok: true, position: { shard: 0, seq: 2 } });
      expect(client.shard).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('goes straight to the leader a relaying node names, when it is one of its URLs, and stays otherwise', async () => {
    const leader = await numberingServer(0);
    const follower = await numberingServer(0, () => ({ [leaderUrlHeader]: `${leader.url}/` }));
    const stranger = await numberingServer(0, () => ({ [leaderUrlHeader]: 'http://writer-9.example:8080' }));
    try {
      const client = new BarrierClient({ writerUrls: [follower.url, leader.url], log, metrics: new QueryMetrics() });
      for (let call = 0; call < 3; call += 1) expect((await client.barrier()).ok).toBe(true);
      expect([follower.arrivals(), leader.arrivals()]).toEqual([1, 2]);
      const unnamed = new BarrierClient({ writerUrls: [stranger.url, leader.url], log, metrics: new QueryMetrics() });
      for (let call = 0; call < 3; call += 1) expect((await unnamed.barrier()).ok).toBe(true);
      expect([stranger.arrivals(), leader.arrivals()]).toEqual([3, 2]);
    } finally {
      await Promise.all([leader.close(), follower.close(), stranger.close()]);
    }
  });

  it('bounds the reads waiting for the next call', async () => {
    const server = await numberingServer(100);
    const client = new BarrierClient({ writerUrls: [server.url], log, metrics: new QueryMetrics(), joinedReadsMax: 3 });
    try {
      const results = await Promise.all(Array.from({ length: 6 }, () => client.barrier()));
      expect(results.map((result) => (result.ok ? 'ok' : result.code))).toEqual(['ok', 'ok', 'ok', 'ok', 'overloaded', 'overloaded']);
    } finally {
      await server.close();
    }
  });
});

describe('barrier client against a real writer cluster', () => {
  let cluster: WriterCluster;

  beforeAll(async () => {
    cluster = await WriterCluster.create(3);
    await cluster.startAll();
    await cluster.waitForLeader();
    const accounts = [{ id: 'a', ledger: 1, code: 1 }, { id: 'b', ledger: 1, code: 1 }];
    expect((await postJson(`${cluster.nodes[0]!.url}/v1/accounts`, { accounts })).status).toBe(200);
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('answers every read with a seq at or after every write acknowledged before the read began', async () => {
    const metrics = new QueryMetrics();
    const client = new BarrierClient({ writerUrls: cluster.nodes.map((node) => node.url), log, metrics });
    const acknowledged: { at: number; seq: number }[] = [];
    const reads: { at: number; seq: number }[] = [];
    const deadline = performance.now() + 3_000;
    let sequence = 0;
    const writer = async (client: number) => {
      while (performance.now() < deadline) {
        const id = `t-${client}-${sequence++}`;
        const answer = await postJson(`${cluster.nodes[client % 3]!.url}/v1/transfers`, { transfers: [{ id, debitAccountId: 'a', creditAccountId: 'b', amount: '1', ledger: 1, code: 1 }] });
        expect(answer.status).toBe(200);
        acknowledged.push({ at: performance.now(), seq: answer.body.position.seq });
      }
    };
    const reader = async () => {
      while (performance.now() < deadline) {
        const at = performance.now();
        const result = await client.barrier();
        expect(result.ok).toBe(true);
        if (result.ok && 'position' in result) reads.push({ at, seq: result.position.seq });
      }
    };
    await Promise.all([writer(0), writer(1), writer(2), ...Array.from({ length: 16 }, reader)]);
    expect(acknowledged.length).toBeGreaterThan(20);
    expect(reads.length).toBeGreaterThan(100);
    const sortedAcks = [...acknowledged].sort((left, right) => left.at - right.at);
    let highestAcknowledged = 0;
    let next = 0;
    for (const read of [...reads].sort((left, right) => left.at - right.at)) {
      while (next < sortedAcks.length && sortedAcks[next]!.at < read.at) highestAcknowledged = Math.max(highestAcknowledged, sortedAcks[next++]!.seq);
      expect(read.seq).toBeGreaterThanOrEqual(highestAcknowledged);
    }
    const calls = await metricValue(metrics, 'query_barrier_calls_total', { outcome: 'ok' });
    expect(calls).toBeLessThan(reads.length); // shared
  });

  it('answers no_leader when the nodes that answer have no leader, unreachable when none answers', async () => {
    const leader = await cluster.waitForLeader();
    const follower = cluster.nodes.find((node) => node !== leader)!;
    await cluster.kill(leader);
    await cluster.kill(follower);
    const survivor = cluster.nodes.find((node) => node.process !== undefined)!;
    const client = new BarrierClient({ writerUrls: [survivor.url, leader.url, follower.url], log, metrics: new QueryMetrics(), attemptTimeoutMs: 10_000 });
    const noLeader = await client.barrier();
    expect(noLeader).toMatchObject({ ok: false, code: 'no_leader', retryAfterSeconds: 1 });
    await cluster.kill(survivor);
    const started = performance.now();
    expect(await client.barrier()).toMatchObject({ ok: false, code: 'unreachable' });
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
