/**
 * Issue #7 acceptance on real processes: a writer cluster (its leader publishes to Kafka), the
 * projector and the query API, on the test Kafka with a topic of their own and a fresh database.
 *
 * a) read-your-writes: 1,000 transfers from 20 concurrent clients; after each write, a read with
 *    that write's position (X-Consistency-Token or ?minSeq=) reflects it: afterwards every read's
 *    counters equal the fold of the transfers with seq ≤ its asOf, and asOf ≥ the write's seq;
 * b) strong reads: with one client writing and another reading `strong`, every read reflects every
 *    write acknowledged before it started; a concurrent history of writes and strong reads from
 *    several clients is linearizable (common/linearizability, ledger-balances model);
 * c) with the writer cluster paused, then stopped: eventual reads still answer 200; strong and
 *    read-your-writes reads answer 504/503 within their bound.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, uniqueTopic, type TestDatabase } from './support/isolation.ts';
import { checkLedgerHistory, runRecordedClients, type LedgerService } from '../query-api/test/ledger-client-history.ts';
import { startQueryPlatform, writeToCluster, type QueryPlatform } from '../query-api/test/query-platform.ts';

const shard = 0;
const rywClients = 20;
const rywTransfersPerClient = 50;
const waitMs = 20_000;
/** Slack on top of a read's timeoutMs for the answer to arrive on this shared 2-core machine. */
const answerSlackMs = 1_500;

interface AccountAnswer { id: string; debitsPosted: string; creditsPosted: string; asOf: { shard: number; seq: number } }

let platform: QueryPlatform;
let database: TestDatabase<unknown>;

async function getJson(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const response = await fetch(`${platform.queryUrl}${path}`, { headers, signal: AbortSignal.timeout(60_000) });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

async function createAccounts(ids: readonly string[]): Promise<number> {
  const answer = await writeToCluster(platform.writerUrls, '/v1/accounts', { accounts: ids.map((id) => ({ id, ledger: 1, code: 1 })) });
  expect(answer.body.results.map((result) => result.status)).toEqual(ids.map(() => 'created'));
  return answer.body.position.seq;
}

function transferBody(id: string, debitAccountId: string, creditAccountId: string, amount: bigint) {
  return { transfers: [{ id, debitAccountId, creditAccountId, amount: String(amount), ledger: 1, code: 1 }] };
}

beforeAll(async () => {
  database = await createTestDatabase<unknown>(inject('databaseUrl'), 'query_e2e');
  platform = await startQueryPlatform({ databaseUrl: database.url, kafkaBrokers: inject('kafkaBrokers'), topic: uniqueTopic('query.e2e') });
});

afterAll(async () => {
  await platform?.stop();
  await database?.drop();
});

describe('query API consistency on real processes', () => {
  it('read-your-writes: after each of 1,000 transfers a read with its position reflects it', async () => {
    const accounts = Array.from({ length: 8 }, (_, index) => `ryw-${index}`);
    await createAccounts(accounts);
    const transfers: { id: string; debitAccountId: string; creditAccountId: string; amount: bigint; seq: number | undefined }[] = [];
    const reads: { accountId: string; writeSeq: number; answer: AccountAnswer }[] = [];
    const client = async (clientId: number) => {
      for (let count = 0; count < rywTransfersPerClient; count += 1) {
        const debitAccountId = accounts[(clientId + count) % accounts.length]!;
        const creditAccountId = accounts[(clientId + 3 * count + 1) % accounts.length] === debitAccountId ? accounts[(clientId + count + 1) % accounts.length]! : accounts[(clientId + 3 * count + 1) % accounts.length]!;
        const transfer = { id: `ryw-${clientId}-${count}`, debitAccountId, creditAccountId, amount: BigInt(1 + ((clientId * 31 + count * 7) % 97)), seq: undefined as number | undefined };
        const urls = [...platform.writerUrls.slice(clientId % 3), ...platform.writerUrls.slice(0, clientId % 3)];
        const answer = await writeToCluster(urls, '/v1/transfers', transferBody(transfer.id, debitAccountId, creditAccountId, transfer.amount));
        const status = answer.body.results[0]!.status;
        expect(['created', 'exists']).toContain(status);
        const { position } = answer.body;
        if (status === 'created') transfer.seq = position.seq;
        transfers.push(transfer);
        const accountId = count % 2 === 0 ? debitAccountId : creditAccountId;
        const read = count % 2 === 0
          ? await getJson(`/v1/accounts/${accountId}?timeoutMs=${waitMs}`, { 'x-consistency-token': `${position.shard}:${position.seq}` })
          : await getJson(`/v1/accounts/${accountId}?minSeq=${position.seq}&timeoutMs=${waitMs}`);
        expect(read.status, JSON.stringify(read.body)).toBe(200);
        expect(read.body.asOf.seq).toBeGreaterThanOrEqual(position.seq);
        expect(read.headers.get('x-consistency-token')).toBe(`${shard}:${read.body.asOf.seq}`);
        reads.push({ accountId, writeSeq: position.seq, answer: read.body as AccountAnswer });
        if (count % 10 === 0) {
          const transferRead = await getJson(`/v1/transfers/${transfer.id}`, { 'x-consistency-token': `${position.shard}:${position.seq}` });
          expect(transferRead.status).toBe(200);
          expect(transferRead.body).toMatchObject({ id: transfer.id, amount: String(transfer.amount), status: 'posted' });
        }
      }
    };
    await Promise.all(Array.from({ length: rywClients }, (_, clientId) => client(clientId)));
    expect(transfers).toHaveLength(rywClients * rywTransfersPerClient);
    // A retried write answers `exists` without its seq: take it from the (by now complete) projection.
    for (const transfer of transfers.filter((candidate) => candidate.seq === undefined)) {
      transfer.seq = (await getJson(`/v1/transfers/${transfer.id}`)).body.seq;
    }
    const bySeq = [...transfers].sort((left, right) => left.seq! - right.seq!);
    expect(new Set(bySeq.map((transfer) => transfer.seq)).size).toBe(transfers.length);
    for (const { accountId, writeSeq, answer } of reads) {
      let debitsPosted = 0n;
      let creditsPosted = 0n;
      for (const transfer of bySeq) {
        if (transfer.seq! > answer.asOf.seq) break;
        if (transfer.debitAccountId === accountId) debitsPosted += transfer.amount;
        if (transfer.creditAccountId === accountId) creditsPosted += transfer.amount;
      }
      expect({ accountId, writeSeq, asOf: answer.asOf.seq, debitsPosted: answer.debitsPosted, creditsPosted: answer.creditsPosted })
        .toEqual({ accountId, writeSeq, asOf: answer.asOf.seq, debitsPosted: String(debitsPosted), creditsPosted: String(creditsPosted) });
    }
  });

  it('strong reads reflect every write acknowledged before they started', async () => {
    await createAccounts(['strong-a', 'strong-b']);
    const acknowledgedAt: number[] = [];
    const startedAt: number[] = [];
    const reads: { started: number; ended: number; credits: bigint; asOf: number }[] = [];
    const until = performance.now() + 4_000;
    const writer = async () => {
      for (let count = 0; performance.now() < until; count += 1) {
        startedAt.push(performance.now());
        const answer = await writeToCluster(platform.writerUrls, '/v1/transfers', transferBody(`strong-${count}`, 'strong-a', 'strong-b', 1n));
        expect(answer.body.results[0]!.status).toBe('created');
        acknowledgedAt.push(performance.now());
      }
    };
    const reader = async () => {
      while (performance.now() < until) {
        const started = performance.now();
        const read = await getJson(`/v1/accounts/strong-b?consistency=strong&timeoutMs=${waitMs}`);
        expect(read.status, JSON.stringify(read.body)).toBe(200);
        reads.push({ started, ended: performance.now(), credits: BigInt(read.body.creditsPosted), asOf: read.body.asOf.seq });
      }
    };
    await Promise.all([writer(), reader()]);
    expect(reads.length).toBeGreaterThanOrEqual(3);
    expect(acknowledgedAt.length).toBeGreaterThanOrEqual(10);
    for (const read of reads) {
      const acknowledgedBefore = acknowledgedAt.filter((at) => at < read.started).length;
      const startedBeforeEnd = startedAt.filter((at) => at < read.ended).length;
      expect(read.credits).toBeGreaterThanOrEqual(BigInt(acknowledgedBefore));
      expect(read.credits).toBeLessThanOrEqual(BigInt(startedBeforeEnd));
    }
  });

  it('a concurrent history of writes and strong reads from several clients is linearizable', async () => {
    const accounts = ['lin-a', 'lin-b', 'lin-c'];
    await createAccounts(accounts);
    const service: LedgerService = {
      async transfer(request) {
        const answer = await writeToCluster(platform.writerUrls, '/v1/transfers', transferBody(request.id, request.debitAccountId, request.creditAccountId, request.amount), 3);
        return answer.body.results[0]!.status;
      },
      async read(accountId) {
        const read = await getJson(`/v1/accounts/${accountId}?consistency=strong&timeoutMs=${waitMs}`);
        if (read.status === 404) return { notFound: true };
        if (read.status !== 200) throw new Error(`HTTP ${read.status}: ${JSON.stringify(read.body)}`);
        return { debitsPosted: BigInt(read.body.debitsPosted), creditsPosted: BigInt(read.body.creditsPosted) };
      },
    };
    const history = await runRecordedClients({ service, accounts, writers: 3, readers: 3, durationMs: 6_000, operationsPerClientMax: 40, seed: 5 });
    const answeredReads = history.filter((operation) => operation.input.op === 'read' && operation.output !== undefined);
    expect(answeredReads.length).toBeGreaterThanOrEqual(10);
    const result = checkLedgerHistory(history);
    expect(result.outcome, result.outcome === 'illegal' ? result.explanation : '').toBe('ok');
  });

  it('with the writers paused, then stopped: eventual reads answer, strong and read-your-writes reads give up within their bound', async () => {
    // A strong read first: the projection has then caught up with every acknowledged write, so it
    // stays put while the writers are paused.
    const caughtUp = await getJson(`/v1/accounts/ryw-0?consistency=strong&timeoutMs=${waitMs}`);
    expect(caughtUp.status).toBe(200);
    const current = caughtUp.body.asOf.seq as number;
    for (const node of platform.cluster.nodes) platform.cluster.pause(node);
    try {
      const eventual = await getJson('/v1/accounts/ryw-0');
      expect(eventual.status).toBe(200);
      let started = performance.now();
      const strong = await getJson('/v1/accounts/ryw-0?consistency=strong&timeoutMs=1500');
      expect(strong.status).toBe(504);
      expect(strong.body).toMatchObject({ error: 'consistency_timeout', asOf: { shard, seq: current } });
      expect(performance.now() - started).toBeLessThanOrEqual(1_500 + answerSlackMs);
      started = performance.now();
      const ahead = await getJson(`/v1/accounts/ryw-0?minSeq=${current + 1}&timeoutMs=800`);
      expect(ahead.status).toBe(504);
      expect(ahead.body.asOf).toEqual({ shard, seq: current });
      expect(performance.now() - started).toBeLessThanOrEqual(800 + answerSlackMs);
    } finally {
      for (const node of platform.cluster.nodes) await platform.cluster.kill(node);
    }
    expect((await getJson('/v1/accounts/ryw-0')).status).toBe(200);
    expect((await getJson('/v1/accounts/ryw-0/transfers?limit=5')).status).toBe(200);
    const started = performance.now();
    const strong = await getJson('/v1/accounts/ryw-0?consistency=strong&timeoutMs=3000');
    const elapsed = performance.now() - started;
    expect([503, 504]).toContain(strong.status);
    if (strong.status === 503) {
      expect(strong.headers.get('retry-after')).toBe('1');
      expect(strong.body.error).toMatch(/^(unreachable|no_leader)$/);
    }
    expect(elapsed).toBeLessThanOrEqual(3_000 + answerSlackMs);
  });
});
