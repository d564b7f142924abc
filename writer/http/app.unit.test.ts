/**
 * The writer's client API over real HTTP on three in-memory-replicated nodes: any node accepts
 * writes (followers forward to the leader), bad input gets a 4xx naming the field and changes
 * nothing, and a fuzz test finds no 5xx and no state change for rejected requests.
 */
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaderUrlHeader } from '../../common/http/headers.ts';
import { createLogger } from '../../common/logger.ts';
import { startInMemoryCluster, type InMemoryCluster } from '../node/test/in-memory-cluster.ts';
import type { WriterNode } from '../node/writer-node.ts';
import { buildWriterApp, writerHttpLimitsDefault } from './app.ts';
import { createWriterMetrics } from './metrics.ts';

let cluster: InMemoryCluster;
const urls: Record<string, string> = {};
const apps: ReturnType<typeof buildWriterApp>[] = [];
const appsById = new Map<string, ReturnType<typeof buildWriterApp>>();

beforeAll(async () => {
  cluster = startInMemoryCluster(['1', '2', '3'], 7);
  const clientUrls: Record<string, string> = {};
  for (const [id, node] of cluster.nodes) {
    const app = buildWriterApp({ nodeId: id, shard: 0, service: node, clientUrls, log: createLogger('writer-http-test', 'silent'), metrics: createWriterMetrics() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    clientUrls[id] = `http://127.0.0.1:${address.port}`;
    urls[id] = clientUrls[id];
    apps.push(app);
    appsById.set(id, app);
  }
  const leader = await cluster.waitForLeader();
  const created = await post(urlOf(leader), '/v1/accounts', { accounts: [{ id: 'bank', ledger: 1, code: 1 }, { id: 'alice', ledger: 1, code: 1, flags: { debitsMustNotExceedCredits: true } }] });
  expect(created.status).toBe(200);
});

afterAll(async () => {
  for (const app of apps) if (app.server.listening) await app.close();
  cluster.stop();
});

function urlOf(node: WriterNode): string {
  return urls[node.cluster().nodeId]!;
}

async function post(base: string, path: string, body: unknown, raw?: string): Promise<{ status: number; body: Record<string, unknown>; retryAfter: string | null; leaderUrl: string | null }> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) });
  return {
    status: response.status, body: (await response.json()) as Record<string, unknown>,
    retryAfter: response.headers.get('retry-after'), leaderUrl: response.headers.get(leaderUrlHeader),
  };
}

function lastSeqEverywhere(): number[] {
  return [...cluster.nodes.values()].map((node) => node.cluster().lastSeq);
}

describe('writer HTTP API', () => {
  it('a follower forwards a write to the leader and relays the answer with its position', async () => {
    const leader = await cluster.waitForLeader();
    const follower = [...cluster.nodes.values()].find((node) => node !== leader)!;
    const answer = await post(urlOf(follower), '/v1/transfers', { transfers: [{ id: 'dep-1', debitAccountId: 'bank', creditAccountId: 'alice', amount: '1250', ledger: 1, code: 1 }] });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ results: [{ id: 'dep-1', status: 'created' }], position: { shard: 0, seq: 3 } });
    const barrier = await post(urlOf(follower), '/v1/barrier', {});
    expect(barrier).toMatchObject({ status: 200, body: { shard: 0, seq: 3 } });
  });

  it('names the leader on an answer a follower relayed, and nothing on the leader\'s own answers', async () => {
    const leader = await cluster.waitForLeader();
    const follower = [...cluster.nodes.values()].find((node) => node !== leader)!;
    expect((await post(urlOf(follower), '/v1/barrier', {})).leaderUrl).toBe(urlOf(leader));
    expect((await post(urlOf(follower), '/v1/accounts', { accounts: [{ id: 'named-leader', ledger: 1, code: 1 }] })).leaderUrl).toBe(urlOf(leader));
    const direct = await post(urlOf(leader), '/v1/barrier', {});
    expect(direct.status).toBe(200);
    expect(direct.leaderUrl).toBeNull();
  });

  const badRequests: [string, unknown, string | undefined, number, string][] = [
    ['malformed JSON', undefined, '{"transfers": [', 400, ''],
    ['a __proto__ key', undefined, '{"transfers":[{"id":"t","debitAccountId":"bank","creditAccountId":"alice","amount":"1","ledger":1,"code":1,"__proto__":{"polluted":true}}]}', 400, 'body.transfers[0].__proto__'],
    ['unknown field', { transfers: [{ id: 't', debitAccountId: 'bank', creditAccountId: 'alice', amount: '1', ledger: 1, code: 1, colour: 'red' }] }, undefined, 400, 'body.transfers[0].colour'],
    ['zero amount', { transfers: [{ id: 't', debitAccountId: 'bank', creditAccountId: 'alice', amount: '0', ledger: 1, code: 1 }] }, undefined, 400, 'body.transfers[0].amount'],
    ['negative amount', { transfers: [{ id: 't', debitAccountId: 'bank', creditAccountId: 'alice', amount: '-5', ledger: 1, code: 1 }] }, undefined, 400, 'body.transfers[0].amount'],
    ['fractional amount', { transfers: [{ id: 't', debitAccountId: 'bank', creditAccountId: 'alice', amount: '1.5', ledger: 1, code: 1 }] }, undefined, 400, 'body.transfers[0].amount'],
    ['amount as a JSON number', { transfers: [{ id: 't', debitAccountId: 'bank', creditAccountId: 'alice', amount: 15, ledger: 1, code: 1 }] }, undefined, 400, 'body.transfers[0].amount'],
    ['amount over 2^63-1', { transfers: [{ id: 't', debitAccountId: 'bank', creditAccountId: 'alice', amount: '9223372036854775808', ledger: 1, code: 1 }] }, undefined, 400, 'body.transfers[0].amount'],
    ['id outside the charset', { transfers: [{ id: 'bad id!', debitAccountId: 'bank', creditAccountId: 'alice', amount: '1', ledger: 1, code: 1 }] }, undefined, 400, 'body.transfers[0].id'],
    ['id too long', { accounts: [{ id: 'x'.repeat(65), ledger: 1, code: 1 }] }, undefined, 400, 'body.accounts[0].id'],
    ['ledger zero', { accounts: [{ id: 'z', ledger: 0, code: 1 }] }, undefined, 400, 'body.accounts[0].ledger'],
    ['no items', { transfers: [] }, undefined, 400, 'body.transfers'],
    ['too many items', { transfers: Array.from({ length: 8191 }, (_, index) => ({ id: `t${index}`, debitAccountId: 'bank', creditAccountId: 'alice', amount: '1', ledger: 1, code: 1 })) }, undefined, 400, 'body.transfers'],
  ];

  for (const [name, body, raw, status, field] of badRequests) {
    it(`rejects ${name} with ${status} naming the field, and changes nothing`, async () => {
      const leader = await cluster.waitForLeader();
      const before = lastSeqEverywhere();
      const path = body !== undefined && typeof body === 'object' && body !== null && 'accounts' in body ? '/v1/accounts' : '/v1/transfers';
      const answer = await post(urlOf(leader), path, body, raw);
      expect(answer.status).toBe(status);
      expect(typeof answer.body.message).toBe('string');
      if (field) expect(answer.body.field).toBe(field);
      expect(lastSeqEverywhere()).toEqual(before);
    });
  }

  it('rejects a body over the limit with 413', async () => {
    const leader = await cluster.waitForLeader();
    const answer = await post(urlOf(leader), '/v1/transfers', undefined, `{"transfers":[${'"x",'.repeat(1_200_000)}"x"]}`);
    expect(answer.status).toBe(413);
    expect(answer.body.error).toBe('body_too_large');
  });

  it('fuzz: arbitrary bodies never cause a 5xx, and rejected ones change no state', async () => {
    const leader = await cluster.waitForLeader();
    const base = urlOf(leader);
    const transferLike = fc.record({
      id: fc.oneof(fc.constantFrom('f1', 'f2', 'dep-1'), fc.string({ maxLength: 70 })),
      debitAccountId: fc.option(fc.constantFrom('bank', 'alice', 'nobody', ''), { nil: undefined }),
      creditAccountId: fc.option(fc.constantFrom('bank', 'alice', 'nobody'), { nil: undefined }),
      amount: fc.option(fc.oneof(fc.bigInt({ min: -5n, max: 1n << 64n }).map(String), fc.integer(), fc.string()), { nil: undefined }),
      ledger: fc.option(fc.oneof(fc.integer({ min: -1, max: 3 }), fc.double()), { nil: undefined }),
      code: fc.option(fc.integer({ min: -1, max: 3 }), { nil: undefined }),
      pending: fc.option(fc.boolean(), { nil: undefined }),
      postPendingId: fc.option(fc.constantFrom('f1', 'zz'), { nil: undefined }),
      extra: fc.option(fc.anything(), { nil: undefined }),
    }, { requiredKeys: ['id'] });
    await fc.assert(fc.asyncProperty(fc.array(transferLike, { maxLength: 4 }), async (transfers) => {
      const before = leader.cluster().lastSeq;
      const answer = await post(base, '/v1/transfers', { transfers });
      expect(answer.status).toBeLessThan(500);
      if (answer.status !== 200) expect(leader.cluster().lastSeq).toBe(before);
      else {
        const created = (answer.body.results as { status: string }[]).filter((result) => result.status === 'created').length;
        if (created === 0) expect(leader.cluster().lastSeq).toBe(before);
      }
    }), { numRuns: 150, seed: 42 });
  });
  // Last: it takes the leader away.
  it('a follower holds a write while the leader it knows refuses connections, and forwards it to the next leader', async () => {
    const old = await cluster.waitForLeader();
    const oldId = old.cluster().nodeId;
    const follower = [...cluster.nodes.values()].find((node) => node !== old)!;
    expect(follower.cluster().leaderId).toBe(oldId);
    // The leader "dies": its port refuses connections and its Raft traffic is gone.
    await appsById.get(oldId)!.close();
    cluster.isolated.add(oldId);
    const answer = await post(urlOf(follower), '/v1/transfers', { transfers: [{ id: 'held-1', debitAccountId: 'bank', creditAccountId: 'alice', amount: '7', ledger: 1, code: 1 }] });
    expect(answer.status).toBe(200);
    expect(answer.body.results).toEqual([{ id: 'held-1', status: 'created' }]);
    expect(cluster.leader()?.cluster().nodeId).not.toBe(oldId);
  });

  it('a forwarded write whose leader stops answering is answered 503 leadership_changed once the follower moves on, not after the forward timeout', async () => {
    const paused = await cluster.waitForLeader();
    const pausedId = paused.cluster().nodeId;
    const follower = [...cluster.nodes.values()].find((node) => node !== paused && !cluster.isolated.has(node.cluster().nodeId))!;
    expect(follower.cluster().leaderId).toBe(pausedId);
    // The leader "pauses": its port accepts connections and never answers.
    const port = Number(new URL(urls[pausedId]!).port);
    await appsById.get(pausedId)!.close();
    const held: net.Socket[] = [];
    const silent = net.createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen({ host: '127.0.0.1', port }, resolve));
    try {
      const started = performance.now();
      const answering = post(urlOf(follower), '/v1/transfers', { transfers: [{ id: 'paused-1', debitAccountId: 'bank', creditAccountId: 'alice', amount: '3', ledger: 1, code: 1 }] });
      await new Promise((resolve) => setTimeout(resolve, 100));
      cluster.isolated.add(pausedId); // the follower stops hearing it and, after an election timeout, drops it
      const answer = await answering;
      expect(answer.status).toBe(503);
      expect(answer.body.error).toBe('leadership_changed');
      expect(answer.retryAfter).not.toBeNull();
      expect(performance.now() - started).toBeLessThan(writerHttpLimitsDefault.forwardTimeoutMs / 3);
      expect(follower.cluster().leaderId).not.toBe(pausedId);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
