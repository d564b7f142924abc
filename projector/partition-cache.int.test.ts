/**
 * The partition cache against real Postgres: batches applied with it give the same tables as
 * batches that read everything back; a batch another writer committed in between (a rebalance)
 * is noticed by the checkpoint and nothing stale is written; a duplicate transfer id the cache
 * cannot see still stops the partition with the precise reason; tight bounds only cost reads.
 * A batch folded ahead from the cache while the previous one is written gives the same tables,
 * and is folded again when the checkpoint or the cache moved in between.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import { encodeEnvelopeMessage, type EnvelopeInput } from '../common/events/envelope.ts';
import type { LedgerEvent } from '../writer/ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/isolation.ts';
import { applyBatch, prepareBatch, type ApplyOutcome, type PreparedBatch, type WritingStage } from './batch-apply.ts';
import type { PartitionMessage } from './batch-selection.ts';
import { PartitionCache } from './partition-cache.ts';
import { asConsumed, dumpVersion } from './test/read-model-dump.ts';
import { generateHistory, historyMessages } from './test/ledger-history.ts';

const flags = { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false };
const t0 = Date.UTC(2026, 10, 22, 10, 0, 0);

async function applyChunks(db: Kysely<unknown>, shard: number, messages: readonly PartitionMessage[], chunk: number, cacheFor: (index: number) => PartitionCache | undefined): Promise<ApplyOutcome[]> {
  const outcomes: ApplyOutcome[] = [];
  for (let start = 0, index = 0; start < messages.length; start += chunk, index += 1) {
    outcomes.push(await applyBatch(db, { shard, messages: messages.slice(start, start + chunk), target: { kind: 'live' }, cache: cacheFor(index) }));
  }
  return outcomes;
}

/** The same history on two shards differs only in the shard number and the ids' `s<shard>-` prefix. */
function withoutShard(dump: string): string {
  return dump.replace(/"shard":\d+/g, '"shard":_').replace(/\bs\d+-/g, 's_-');
}

/** Rows of one shard in every table, as text, in a fixed order. */
async function dumpShard(db: Kysely<unknown>, shard: number): Promise<string> {
  const parts: string[] = [];
  for (const [table, order] of [['accounts', 'id'], ['transfers', 'id'], ['account_entries', 'account_id, seq'], ['daily_totals', 'account_id, day']] as const) {
    const filter = table === 'daily_totals' ? sql`account_id IN (SELECT id FROM ledger_v1.accounts WHERE shard = ${shard})` : sql`shard = ${shard}`;
    const result = await sql<{ rows: string | null }>`SELECT string_agg(row_to_json(t)::text, E'\n' ORDER BY ${sql.raw(order)}) AS rows FROM ${sql.id('ledger_v1', table)} t WHERE ${filter}`.execute(db);
    parts.push(`${table}:\n${result.rows[0]?.rows ?? ''}`);
  }
  return parts.join('\n');
}

describe('applyBatch with a partition cache', () => {
  let database: TestDatabase<unknown>;
  let db: Kysely<unknown>;
  const history = generateHistory({ seed: 4242, shard: 0, accounts: 30, transfers: 2_500 });
  const messagesOf = (shard: number) => asConsumed(historyMessages(generateHistory({ seed: 4242, shard, accounts: 30, transfers: 2_500 })));

  beforeAll(async () => {
    database = await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_cache');
    db = database.db;
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('gives the same rows as reading everything back, and serves later batches from memory', async () => {
    const kinds = new Set(history.inputs.map((input) => input.event.type));
    expect(kinds.has('PendingTransferPosted') && kinds.has('PendingTransferVoided') && kinds.has('PendingTransferExpired')).toBe(true);
    await applyChunks(db, 1, messagesOf(1), 300, () => undefined);
    const cache = new PartitionCache();
    const outcomes = await applyChunks(db, 2, messagesOf(2), 300, () => cache);
    expect(outcomes.every((outcome) => outcome.stop === undefined)).toBe(true);
    expect(cache.isAt('ledger_v1', outcomes.at(-1)!.checkpointAfter)).toBe(true);
    expect(cache.size.accounts).toBe(30);
    const pendingNow = [...history.state.transfers()].filter((transfer) => transfer.kind === 'pending' && transfer.pendingStatus === 'pending').length;
    expect(cache.size.pendingTransfers).toBe(pendingNow);
    expect(withoutShard(await dumpShard(db, 2))).toBe(withoutShard(await dumpShard(db, 1)));
  });

  it('a batch another writer committed in between clears the cache instead of writing stale counters', async () => {
    const messages = messagesOf(3);
    const ours = new PartitionCache();
    // Batches alternate between "this process" (with its cache) and another one: the cache must
    // notice the checkpoint moved every time.
    const outcomes = await applyChunks(db, 3, messages, 250, (index) => (index % 2 === 0 ? ours : undefined));
    expect(outcomes.every((outcome) => outcome.stop === undefined)).toBe(true);
    expect(withoutShard(await dumpShard(db, 3))).toBe(withoutShard(await dumpShard(db, 1)));
  });

  it('tight bounds evict the least recently touched rows and the misses are read back', async () => {
    const cache = new PartitionCache({ accountsMax: 5, pendingTransfersMax: 3 });
    await applyChunks(db, 4, messagesOf(4), 200, () => cache);
    expect(cache.size.accounts).toBe(5);
    expect(cache.size.pendingTransfers).toBeLessThanOrEqual(3);
    expect(withoutShard(await dumpShard(db, 4))).toBe(withoutShard(await dumpShard(db, 1)));
  });

  it('batches folded ahead while the previous one is written give the same rows as batches folded in their transaction', async () => {
    const shard = 6;
    const messages = messagesOf(shard);
    const chunks: PartitionMessage[][] = [];
    for (let start = 0; start < messages.length; start += 300) chunks.push(messages.slice(start, start + 300));
    const cache = new PartitionCache();
    const outcomes: ApplyOutcome[] = [];
    let ahead: Promise<PreparedBatch | undefined> | undefined;
    const stagesSeen: WritingStage[][] = [];
    for (let index = 0; index < chunks.length; index += 1) {
      const next = chunks[index + 1];
      const stages: WritingStage[] = [];
      stagesSeen.push(stages);
      // Folded ahead while the rows are copied for even batches, once the statement is sent for odd ones.
      const foldAt: WritingStage = index % 2 === 0 ? 'copying' : 'statement';
      const whileWriting = next === undefined ? undefined : (stage: WritingStage) => {
        stages.push(stage);
        if (stage === foldAt) ahead = prepareBatch(shard, next, cache);
      };
      const prepared = await ahead;
      ahead = undefined;
      outcomes.push(await applyBatch(db, { shard, messages: chunks[index]!, target: { kind: 'live' }, cache, prepared, whileWriting }));
    }
    expect(outcomes.every((outcome) => outcome.stop === undefined)).toBe(true);
    expect(stagesSeen).toEqual(chunks.map((_, index) => (index < chunks.length - 1 ? ['copying', 'statement'] : [])));
    // The first batch starts from an empty cache (reads Postgres); every later one was folded ahead.
    expect(outcomes.map((outcome) => outcome.foldedAhead)).toEqual(chunks.map((_, index) => index > 0));
    expect(withoutShard(await dumpShard(db, shard))).toBe(withoutShard(await dumpShard(db, 1)));
  });

  it('a batch folded ahead is folded again when another writer moved the checkpoint or the cache was cleared in between', async () => {
    const scenarios: [number, (cache: PartitionCache, second: PartitionMessage[]) => Promise<void>][] = [
      // Another process applies part of the batch first: the fold made ahead would double-count it.
      [7, async (_, second) => void (await applyBatch(db, { shard: 7, messages: second.slice(0, 150), target: { kind: 'live' } }))],
      // A rebalance clears the cache: a fold made before the clear is not trusted either.
      [8, async (cache) => cache.clear()],
    ];
    for (const [shard, inBetween] of scenarios) {
      const messages = messagesOf(shard);
      const cache = new PartitionCache();
      const first = await applyBatch(db, { shard, messages: messages.slice(0, 400), target: { kind: 'live' }, cache });
      expect(first.stop).toBeUndefined();
      const second = messages.slice(400, 800);
      const prepared = await prepareBatch(shard, second, cache);
      expect(prepared?.checkpoint).toBe(first.checkpointAfter);
      await inBetween(cache, second);
      const outcome = await applyBatch(db, { shard, messages: second, target: { kind: 'live' }, cache, prepared });
      expect(outcome).toMatchObject({ foldedAhead: false, stop: undefined, checkpointAfter: 800 });
      await applyBatch(db, { shard, messages: messages.slice(800), target: { kind: 'live' }, cache });
      expect(withoutShard(await dumpShard(db, shard))).toBe(withoutShard(await dumpShard(db, 1)));
    }
  });

  it('a transfer id created again in a later batch stops the partition with the reason, though the cache cannot see the first one', async () => {
    const shard = 5;
    const transfer = (id: string): LedgerEvent => ({ type: 'TransferCreated', data: { id, debitAccountId: 'c-a', creditAccountId: 'c-b', amount: 5n, ledger: 1, code: 1, userData: undefined, pending: false, timeoutSeconds: 0, timeoutAt: undefined } });
    const events: LedgerEvent[] = [
      { type: 'AccountCreated', data: { id: 'c-a', ledger: 1, code: 1, flags, userData: undefined } },
      { type: 'AccountCreated', data: { id: 'c-b', ledger: 1, code: 1, flags, userData: undefined } },
      transfer('c-t1'),
      transfer('c-t2'),
      transfer('c-t1'),
    ];
    const inputs: EnvelopeInput[] = events.map((event, index) => ({ shard, seq: index + 1, raftIndex: index + 1, raftTerm: 1, commandId: `c-${index}`, eventIndex: 0, occurredAtMs: t0 + index, event }));
    const messages = asConsumed(inputs.map(encodeEnvelopeMessage));
    const cache = new PartitionCache();
    const first = await applyBatch(db, { shard, messages: messages.slice(0, 3), target: { kind: 'live' }, cache });
    expect(first).toMatchObject({ applied: 3, stop: undefined });
    expect(cache.isAt('ledger_v1', 3)).toBe(true);
    const second = await applyBatch(db, { shard, messages: messages.slice(3), target: { kind: 'live' }, cache });
    expect(second.stop).toEqual({ code: 'inconsistent_event', shard, seq: 5, offset: '4', reason: 'TransferCreated: transfer c-t1 already exists' });
    expect(second).toMatchObject({ applied: 1, checkpointAfter: 4 });
    expect(cache.size).toEqual({ accounts: 0, pendingTransfers: 0 });
    const rows = await sql<{ id: string; seq: string }>`SELECT id, seq FROM ledger_v1.transfers WHERE shard = ${shard} ORDER BY seq`.execute(db);
    expect(rows.rows).toEqual([{ id: 'c-t1', seq: '3' }, { id: 'c-t2', seq: '4' }]);
    expect((await dumpVersion(db, 'ledger_v1')).account_entries).toContain('"transfer_id":"c-t2"');
  });
});
