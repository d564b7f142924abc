/**
 * The query API's eventually consistent reads against real Postgres: the read model is seeded by
 * projecting Decider histories of two shards with the projector's own applyBatch, then every
 * route is exercised with app.inject() and compared with the Decider's state and the history.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Kysely } from 'kysely';
import type { EnvelopeInput } from '../common/events/envelope.ts';
import type { HttpApp } from '../common/http/create-app.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/isolation.ts';
import { applyBatch } from '../projector/batch-apply.ts';
import type { LedgerReadModelDatabase } from '../projector/read-model-database.ts';
import { asConsumed } from '../projector/test/read-model-dump.ts';
import { generateHistory, historyMessages, type LedgerHistory } from '../projector/test/ledger-history.ts';
import { waitTimeoutMsMax } from './consistency.ts';
import { encodeCursor } from './page-cursor.ts';
import { pageLimitDefault, pageLimitMax } from './read-schemas.ts';
import { startQueryHarness, type QueryHarness } from './test/query-harness.ts';

const messagesPerBatch = 250;

interface ExpectedEntry {
  transferId: string;
  seq: number;
  direction: 'debit' | 'credit';
  amount: string;
  balanceAfter: string;
  kind: string;
  occurredAt: string;
}

/** Entries per account, oldest first, derived from the events themselves (not from the read model). */
function expectedEntries(inputs: readonly EnvelopeInput[]): Map<string, ExpectedEntry[]> {
  const entries = new Map<string, ExpectedEntry[]>();
  const balances = new Map<string, bigint>();
  const add = (input: EnvelopeInput, accountId: string, direction: 'debit' | 'credit', transferId: string, kind: string, amount: bigint, postedChange: bigint) => {
    const balance = (balances.get(accountId) ?? 0n) + (direction === 'credit' ? postedChange : -postedChange);
    balances.set(accountId, balance);
    const list = entries.get(accountId) ?? [];
    list.push({ transferId, seq: input.seq, direction, amount: String(amount), balanceAfter: String(balance), kind, occurredAt: new Date(input.occurredAtMs).toISOString() });
    entries.set(accountId, list);
  };
  for (const input of inputs) {
    const event = input.event;
    switch (event.type) {
      case 'TransferCreated': {
        const kind = event.data.pending ? 'pending' : 'single_phase';
        const posted = event.data.pending ? 0n : event.data.amount;
        add(input, event.data.debitAccountId, 'debit', event.data.id, kind, event.data.amount, posted);
        add(input, event.data.creditAccountId, 'credit', event.data.id, kind, event.data.amount, posted);
        break;
      }
      case 'PendingTransferPosted':
        add(input, event.data.debitAccountId, 'debit', event.data.id, 'post_pending', event.data.amount, event.data.amount);
        add(input, event.data.creditAccountId, 'credit', event.data.id, 'post_pending', event.data.amount, event.data.amount);
        break;
      case 'PendingTransferVoided':
        add(input, event.data.debitAccountId, 'debit', event.data.id, 'void_pending', event.data.amount, 0n);
        add(input, event.data.creditAccountId, 'credit', event.data.id, 'void_pending', event.data.amount, 0n);
        break;
      case 'PendingTransferExpired':
        add(input, event.data.debitAccountId, 'debit', event.data.pendingId, 'expire_pending', event.data.amount, 0n);
        add(input, event.data.creditAccountId, 'credit', event.data.pendingId, 'expire_pending', event.data.amount, 0n);
        break;
      default:
        break;
    }
  }
  return entries;
}

/** Seq and time of the event that created each transfer. */
function creations(inputs: readonly EnvelopeInput[]): Map<string, EnvelopeInput> {
  const created = new Map<string, EnvelopeInput>();
  for (const input of inputs) {
    const event = input.event;
    if (event.type === 'TransferCreated' || event.type === 'PendingTransferPosted' || event.type === 'PendingTransferVoided') created.set(event.data.id, input);
  }
  return created;
}

describe('query API eventually consistent reads', () => {
  let database: TestDatabase<LedgerReadModelDatabase>;
  let harness: QueryHarness;
  let app: HttpApp;
  const histories: LedgerHistory[] = [
    generateHistory({ seed: 11, shard: 2, accounts: 12, transfers: 500 }),
    generateHistory({ seed: 23, shard: 5, accounts: 8, transfers: 120 }),
  ];

  beforeAll(async () => {
    database = await createTestDatabase<LedgerReadModelDatabase>(inject('databaseUrl'), 'query');
    for (const history of histories) {
      const messages = asConsumed(historyMessages(history));
      const shard = history.inputs[0]!.shard;
      for (let start = 0; start < messages.length; start += messagesPerBatch) {
        const outcome = await applyBatch(database.db as Kysely<unknown>, { shard, messages: messages.slice(start, start + messagesPerBatch), target: { kind: 'live' } });
        expect(outcome.stop).toBeUndefined();
      }
    }
    harness = await startQueryHarness(database.url, { shards: 6 });
    app = harness.app;
  });

  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  it('answers every account with the Decider state and the checkpoint of its shard', async () => {
    for (const history of histories) {
      const shard = history.inputs[0]!.shard;
      const asOf = { shard, seq: history.state.lastSeq };
      for (const account of history.state.accounts()) {
        const response = await app.inject({ method: 'GET', url: `/v1/accounts/${account.id}` });
        expect(response.statusCode).toBe(200);
        expect(response.headers['x-consistency-token']).toBe(`${shard}:${history.state.lastSeq}`);
        expect(response.json()).toEqual({
          id: account.id, ledger: account.ledger, code: account.code, flags: { ...account.flags },
          debitsPending: String(account.debitsPending), debitsPosted: String(account.debitsPosted),
          creditsPending: String(account.creditsPending), creditsPosted: String(account.creditsPosted),
          balance: String(account.creditsPosted - account.debitsPosted), asOf,
        });
      }
    }
  });

  it('answers every transfer with its state, creation seq and time', async () => {
    for (const history of histories) {
      const shard = history.inputs[0]!.shard;
      const created = creations(history.inputs);
      for (const transfer of history.state.transfers()) {
        const creation = created.get(transfer.id)!;
        const status = transfer.kind === 'pending' ? transfer.pendingStatus : transfer.kind === 'void_pending' ? 'voided' : 'posted';
        const response = await app.inject({ method: 'GET', url: `/v1/transfers/${transfer.id}` });
        expect(response.statusCode).toBe(200);
        expect(response.headers['x-consistency-token']).toBe(`${shard}:${history.state.lastSeq}`);
        expect(response.json()).toEqual({
          id: transfer.id, debitAccountId: transfer.debitAccountId, creditAccountId: transfer.creditAccountId,
          amount: String(transfer.amount), ledger: transfer.ledger, code: transfer.code, status,
          pendingId: transfer.pendingId ?? null, seq: creation.seq, occurredAt: new Date(creation.occurredAtMs).toISOString(),
          asOf: { shard, seq: history.state.lastSeq },
        });
      }
    }
  });

  it('pages every entry of an account exactly once, newest first, with the balance after each', async () => {
    const history = histories[0]!;
    const expected = expectedEntries(history.inputs);
    for (const account of history.state.accounts()) {
      const entries = expected.get(account.id) ?? [];
      const last = entries.at(-1);
      if (last !== undefined) expect(last.balanceAfter).toBe(String(account.creditsPosted - account.debitsPosted));
      const walked: unknown[] = [];
      let cursor: string | null = null;
      let pages = 0;
      const pageSize = 7;
      do {
        const query: string = cursor === null ? `limit=${pageSize}` : `limit=${pageSize}&cursor=${cursor}`;
        const response = await app.inject({ method: 'GET', url: `/v1/accounts/${account.id}/transfers?${query}` });
        expect(response.statusCode).toBe(200);
        const page = response.json() as { items: unknown[]; nextCursor: string | null; asOf: unknown };
        expect(page.asOf).toEqual({ shard: 2, seq: history.state.lastSeq });
        expect(page.items.length).toBeLessThanOrEqual(pageSize);
        walked.push(...page.items);
        cursor = page.nextCursor;
        pages += 1;
        expect(pages).toBeLessThanOrEqual(Math.ceil(entries.length / pageSize) + 1);
      } while (cursor !== null);
      expect(walked).toEqual([...entries].reverse());
      expect(pages).toBe(Math.max(1, Math.ceil(entries.length / pageSize)));
    }
  });

  it('uses the default page size and continues after a cursor seq', async () => {
    const history = histories[0]!;
    const [busiest, entries] = [...expectedEntries(history.inputs)].sort((a, b) => b[1].length - a[1].length)[0]!;
    expect(entries.length).toBeGreaterThan(pageLimitDefault);
    const first = await app.inject({ method: 'GET', url: `/v1/accounts/${busiest}/transfers` });
    const page = first.json() as { items: { seq: number }[]; nextCursor: string };
    expect(page.items.map((item) => item.seq)).toEqual([...entries].reverse().slice(0, pageLimitDefault).map((entry) => entry.seq));
    expect(page.nextCursor).toBe(encodeCursor(BigInt(page.items.at(-1)!.seq)));
    const middle = entries[10]!;
    const after = await app.inject({ method: 'GET', url: `/v1/accounts/${busiest}/transfers?limit=${pageLimitMax}&cursor=${encodeCursor(BigInt(middle.seq))}` });
    expect(after.json()).toMatchObject({ items: [...entries.slice(0, 10)].reverse(), nextCursor: null });
  });

  it('refuses malformed ids, limits, cursors and unknown parameters with 400 naming them', async () => {
    const account = 's2-acct-1';
    const cases: [string, string][] = [
      ['/v1/accounts/has%20space', 'params.id'],
      [`/v1/accounts/${'a'.repeat(65)}`, 'params.id'],
      ['/v1/transfers/bad%2Fslash', 'params.id'],
      [`/v1/accounts/${'x'.repeat(65)}/transfers`, 'params.id'],
      [`/v1/accounts/${account}/transfers?limit=0`, 'querystring.limit'],
      [`/v1/accounts/${account}/transfers?limit=${pageLimitMax + 1}`, 'querystring.limit'],
      [`/v1/accounts/${account}/transfers?limit=ten`, 'querystring.limit'],
      [`/v1/accounts/${account}/transfers?cursor=NDI`, 'querystring.cursor'],
      [`/v1/accounts/${account}/transfers?cursor=${Buffer.from('v1:0').toString('base64url')}`, 'querystring.cursor'],
      [`/v1/accounts/${account}/transfers?cursor=%21%21`, 'querystring.cursor'],
      [`/v1/accounts/${account}/transfers?consistency=linearizable`, 'querystring.consistency'],
      [`/v1/accounts/${account}?consistency=STRONG`, 'querystring.consistency'],
      [`/v1/accounts/${account}?minSeq=-3`, 'querystring.minSeq'],
      [`/v1/accounts/${account}?minSeq=99999999999999999`, 'querystring.minSeq'],
      [`/v1/transfers/s2-t1?minSeq=1.5`, 'querystring.minSeq'],
      [`/v1/accounts/${account}?timeoutMs=0`, 'querystring.timeoutMs'],
      [`/v1/accounts/${account}/transfers?timeoutMs=${waitTimeoutMsMax + 1}`, 'querystring.timeoutMs'],
      ['/v1/transfers/s2-t1?verbose=1', 'querystring.verbose'],
      ['/v1/transfers/s2-t1 x-consistency-token:2', 'headers.x-consistency-token'],
      ['/v1/accounts/s2-acct-1 x-consistency-token:2:abc', 'headers.x-consistency-token'],
      ['/v1/accounts/s2-acct-1 x-consistency-token:64:1', 'headers.x-consistency-token'],
    ];
    for (const [request, field] of cases) {
      const [url, header] = request.split(' ');
      const headers = header === undefined ? {} : { 'x-consistency-token': header.slice('x-consistency-token:'.length) };
      const response = await app.inject({ method: 'GET', url: url!, headers });
      expect({ request, status: response.statusCode, error: response.json().error, field: response.json().field }).toEqual({ request, status: 400, error: 'invalid_request', field });
      expect(response.json().message).toContain(field);
    }
  });

  it('answers 404 for unknown accounts and transfers', async () => {
    const cases: [string, string, string][] = [
      ['/v1/accounts/nobody', 'account_not_found', 'nobody'],
      ['/v1/accounts/nobody/transfers', 'account_not_found', 'nobody'],
      ['/v1/transfers/no-such-transfer', 'transfer_not_found', 'no-such-transfer'],
    ];
    for (const [url, error, id] of cases) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ error, message: expect.stringContaining(id) });
    }
  });
});
