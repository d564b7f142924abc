/**
 * Read-your-writes and the LISTEN waiter against real Postgres: the read model is advanced by the
 * projector's own applyBatch (so checkpoints and ledger_checkpoint notifications are the real
 * ones) while requests wait in the in-process query app.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../test/support/isolation.ts';
import { applyBatch } from '../projector/batch-apply.ts';
import type { PartitionMessage } from '../projector/batch-selection.ts';
import type { LedgerReadModelDatabase } from '../projector/read-model-database.ts';
import { asConsumed } from '../projector/test/read-model-dump.ts';
import { generateHistory, historyMessages } from '../projector/test/ledger-history.ts';
import { listenApplicationName } from './checkpoint-waiter.ts';
import { metricValue, startQueryHarness, type QueryHarness } from './test/query-harness.ts';

const shard = 0;
const history = generateHistory({ seed: 7, shard, accounts: 10, transfers: 400 });
const messages = asConsumed(historyMessages(history));
const lastSeq = history.state.lastSeq;

describe('consistent reads and the checkpoint waiter', () => {
  let database: TestDatabase<LedgerReadModelDatabase>;
  let harness: QueryHarness;
  let applied = 0;

  /** Applies messages up to (excluding) index `end` in one batch, like the projector would. */
  async function applyUpTo(end: number): Promise<void> {
    const batch: PartitionMessage[] = messages.slice(applied, end);
    const outcome = await applyBatch(database.db as Kysely<unknown>, { shard, messages: batch, target: { kind: 'live' } });
    expect(outcome.stop).toBeUndefined();
    applied = end;
  }

  const get = (url: string, headers: Record<string, string> = {}) => harness.app.inject({ method: 'GET', url, headers });

  beforeAll(async () => {
    database = await createTestDatabase<LedgerReadModelDatabase>(inject('databaseUrl'), 'query_consistency');
    await applyUpTo(2); // two accounts exist, nothing else
    harness = await startQueryHarness(database.url, { waiter: { reconnectBackoffMsMin: 1_000, reconnectBackoffMsMax: 2_000 } });
  });

  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  it('a read with minSeq of a resource not projected yet waits for it instead of answering 404', async () => {
    expect((await get('/v1/accounts/s0-acct-5')).statusCode).toBe(404);
    const pending = get('/v1/accounts/s0-acct-5?minSeq=6&timeoutMs=20000');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(harness.waiter.waiting).toBe(1);
    await applyUpTo(20);
    const response = await pending;
    expect(response.statusCode).toBe(200);
    expect(response.json().asOf).toEqual({ shard, seq: 20 });
    expect(response.headers['x-consistency-token']).toBe('0:20');
  });

  it('a token header waits until its shard reaches the seq, then answers at least that seq', async () => {
    const target = lastSeq;
    const pending = [
      get(`/v1/accounts/s0-acct-1`, { 'x-consistency-token': `0:${target}` }),
      get(`/v1/accounts/s0-acct-2/transfers?limit=500&timeoutMs=20000`, { 'x-consistency-token': `0:${target}` }),
      get(`/v1/accounts/s0-acct-3?minSeq=${target - 100}&timeoutMs=20000`),
    ];
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(harness.waiter.waiting).toBe(3);
    for (let end = applied + 97; end < messages.length; end += 97) await applyUpTo(end);
    await applyUpTo(messages.length);
    const [account, page, other] = await Promise.all(pending);
    const expected = [...history.state.accounts()].find((candidate) => candidate.id === 's0-acct-1')!;
    expect(account!.statusCode).toBe(200);
    expect(account!.json()).toMatchObject({ balance: String(expected.creditsPosted - expected.debitsPosted), asOf: { shard, seq: lastSeq } });
    expect(page!.statusCode).toBe(200);
    expect(page!.json().asOf.seq).toBe(lastSeq);
    expect(other!.json().asOf.seq).toBeGreaterThanOrEqual(target - 100);
    expect(await metricValue(harness.metrics, 'query_checkpoint_waits_total', { outcome: 'reached' })).toBeGreaterThanOrEqual(4);
  });

  it('a seq the projection does not reach in time answers 504 with the current asOf, not a stale body', async () => {
    const started = performance.now();
    const response = await get(`/v1/accounts/s0-acct-1?minSeq=${lastSeq + 1_000}&timeoutMs=300`);
    const elapsed = performance.now() - started;
    expect(response.statusCode).toBe(504);
    expect(response.json()).toEqual({ error: 'consistency_timeout', message: expect.stringContaining(`seq ${lastSeq + 1_000}`), asOf: { shard, seq: lastSeq } });
    expect(response.json()).not.toHaveProperty('balance');
    expect(elapsed).toBeGreaterThanOrEqual(299);
    expect(elapsed).toBeLessThan(10_000);
    const missing = await get(`/v1/accounts/s0-nobody?minSeq=${lastSeq}`);
    expect(missing.statusCode).toBe(404);
  });

  it('a strong read without a reachable writer answers 503 with Retry-After; eventual reads still answer', async () => {
    const strong = await get('/v1/accounts/s0-acct-1?consistency=strong&timeoutMs=5000');
    expect(strong.statusCode).toBe(503);
    expect(strong.headers['retry-after']).toBe('1');
    expect(strong.json()).toEqual({ error: 'unreachable', message: expect.stringContaining('eventual reads still answer') });
    expect((await get('/v1/accounts/s0-acct-1?consistency=eventual')).statusCode).toBe(200);
  });

  it('uses one LISTEN connection, and after losing it re-reads the checkpoints so a missed notification does not strand a waiter', async () => {
    const more = generateHistory({ seed: 7, shard, accounts: 10, transfers: 460 });
    const extra = asConsumed(historyMessages(more)).slice(messages.length);
    expect(extra.length).toBeGreaterThan(0);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const listeners = async () => (await admin.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, [listenApplicationName])).rows;
      expect(await listeners()).toHaveLength(1);
      const target = more.state.lastSeq;
      const pending = get(`/v1/accounts/s0-acct-1?minSeq=${target}&timeoutMs=20000`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const [listener] = await listeners();
      await admin.query('SELECT pg_terminate_backend($1)', [listener.pid]);
      // The waiter reconnects only after reconnectBackoffMsMin (1 s): this commit's notification goes nowhere.
      const outcome = await applyBatch(database.db as Kysely<unknown>, { shard, messages: extra, target: { kind: 'live' } });
      expect(outcome.checkpointAfter).toBe(target);
      const response = await pending;
      expect(response.statusCode).toBe(200);
      expect(response.json().asOf.seq).toBe(target);
      expect(await metricValue(harness.metrics, 'query_listen_reconnects_total')).toBe(1);
      expect(harness.waiter.connected).toBe(true);
      expect(await listeners()).toHaveLength(1);
    } finally {
      await admin.end();
    }
  });

  it('does not trust a notification of a version that is not live', async () => {
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const current = harness.waiter.checkpoint(shard);
      const wait = harness.waiter.waitFor(shard, current + 5, 1_000);
      await admin.query(`SELECT pg_notify('ledger_checkpoint', $1)`, [JSON.stringify({ projection: 'ledger_v99', shard, seq: current + 50 })]);
      await admin.query(`SELECT pg_notify('ledger_checkpoint', 'not json')`);
      expect(await wait).toBe('timeout');
      expect(harness.waiter.checkpoint(shard)).toBe(current);
      expect(await metricValue(harness.metrics, 'query_listen_notifications_total', { kind: 'other_version' })).toBe(1);
      expect(await metricValue(harness.metrics, 'query_listen_notifications_total', { kind: 'invalid' })).toBe(1);
    } finally {
      await admin.end();
    }
  });

  it('bounds the waiters: one more than waitersMax is refused with 503 at once', async () => {
    const bounded = await startQueryHarness(database.url, { waiter: { waitersMax: 2 } });
    try {
      const beyond = harness.waiter.checkpoint(shard) + 10;
      const waiting = ['s0-acct-1', 's0-acct-2'].map((id) => bounded.app.inject({ method: 'GET', url: `/v1/accounts/${id}?minSeq=${beyond}&timeoutMs=1000` }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(bounded.waiter.waiting).toBe(2);
      const refused = await bounded.app.inject({ method: 'GET', url: `/v1/accounts/s0-acct-1?minSeq=${beyond}&timeoutMs=1000` });
      expect(refused.statusCode).toBe(503);
      expect(refused.json().error).toBe('overloaded');
      expect((await Promise.all(waiting)).map((response) => response.statusCode)).toEqual([504, 504]);
    } finally {
      await bounded.close();
    }
  });

  it('reports Postgres, the LISTEN connection and the projection lag on /health, and latency by route and consistency on /metrics', async () => {
    const health = await get('/health');
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ status: 'ok', component: 'query-api', database: true, listening: true, liveVersion: 'ledger_v1', waiting: 0 });
    const [projection] = health.json().projection;
    expect(projection).toMatchObject({ shard, checkpointSeq: harness.waiter.checkpoint(shard) });
    expect(projection.secondsSinceCheckpointMoved).toBeGreaterThanOrEqual(0);
    const metrics = await get('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/query_http_request_duration_seconds_count\{route="\/v1\/accounts\/:id",consistency="read_your_writes",status="504"\} [1-9]/);
    expect(metrics.body).toMatch(/query_http_request_duration_seconds_count\{route="\/v1\/accounts\/:id",consistency="strong",status="503"\} 1/);
    expect(metrics.body).toMatch(/query_barrier_calls_total\{outcome="unreachable"\} 1/);
    expect(metrics.body).toMatch(/query_listen_connected 1/);
  });

  it('answers a repeated eventual read from memory, and reflects the next batch once its checkpoint is heard', async () => {
    const before = harness.waiter.checkpoint(shard);
    const more = generateHistory({ seed: 7, shard, accounts: 10, transfers: 560 });
    const extra = asConsumed(historyMessages(more)).slice(before);
    const moved = more.inputs.slice(before).find((input) => input.event.type === 'TransferCreated');
    expect(moved).toBeDefined();
    const accountId = (moved!.event.data as { debitAccountId: string }).debitAccountId;
    const hits = async () => metricValue(harness.metrics, 'query_read_cache_lookups_total', { outcome: 'hit' });
    const hitsBefore = await hits();
    const first = await get(`/v1/accounts/${accountId}`);
    const second = await get(`/v1/accounts/${accountId}`);
    expect(second.json()).toEqual(first.json());
    expect(second.json().asOf).toEqual({ shard, seq: before });
    expect(await hits()).toBe(hitsBefore + 1);

    const outcome = await applyBatch(database.db as Kysely<unknown>, { shard, messages: extra, target: { kind: 'live' } });
    expect(outcome.checkpointAfter).toBe(more.state.lastSeq);
    expect(await harness.waiter.waitFor(shard, more.state.lastSeq, 10_000)).not.toBe('timeout');
    const after = await get(`/v1/accounts/${accountId}`);
    const expected = more.state.account(accountId)!;
    expect(after.json()).toMatchObject({ balance: String(expected.creditsPosted - expected.debitsPosted), asOf: { shard, seq: more.state.lastSeq } });
    expect(after.json().balance).not.toBe(first.json().balance);
    // The fresh answer is what the next read gets from memory.
    expect((await get(`/v1/accounts/${accountId}`)).json()).toEqual(after.json());
    expect(await hits()).toBe(hitsBefore + 2);
  });

  it('describes every route and parameter in the OpenAPI document at /docs/json', async () => {
    const response = await get('/docs/json');
    expect(response.statusCode).toBe(200);
    const document = response.json() as { openapi: string; paths: Record<string, { get: { parameters: { name: string; in: string }[]; responses: Record<string, unknown> } }> };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths).sort()).toEqual(['/health', '/v1/accounts/{id}', '/v1/accounts/{id}/transfers', '/v1/transfers/{id}']);
    const names = (path: string) => document.paths[path]!.get.parameters.map((parameter) => `${parameter.in}:${parameter.name}`).sort();
    const consistency = ['header:x-consistency-token', 'path:id', 'query:consistency', 'query:minSeq', 'query:timeoutMs'];
    expect(names('/v1/accounts/{id}')).toEqual(consistency);
    expect(names('/v1/transfers/{id}')).toEqual(consistency);
    expect(names('/v1/accounts/{id}/transfers')).toEqual([...consistency, 'query:cursor', 'query:limit'].sort());
    for (const path of ['/v1/accounts/{id}', '/v1/transfers/{id}', '/v1/accounts/{id}/transfers']) {
      expect(Object.keys(document.paths[path]!.get.responses).sort()).toEqual(['200', '400', '404', '503', '504']);
    }
    expect((await get('/docs')).statusCode).toBeLessThan(400);
  });
});
