/**
 * Given events → rows, against real Postgres, for every event type; duplicates skipped; a gap, a
 * malformed event and an inconsistent event each stop with their code while the prefix before
 * them is committed; a random Decider history projected in bounded batches equals the Decider's
 * own state; replaying it again changes nothing.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import { encodeEnvelopeMessage, type EnvelopeInput } from '../common/events/envelope.ts';
import type { LedgerEvent } from '../writer/ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/isolation.ts';
import { applyBatch, eventsPerBatchMax, type ApplyOutcome } from './batch-apply.ts';
import type { PartitionMessage } from './batch-selection.ts';
import type { LedgerReadModelDatabase } from './read-model-database.ts';
import { asConsumed, dumpVersion } from './test/read-model-dump.ts';
import { generateHistory, historyMessages } from './test/ledger-history.ts';

const flags = { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false };
const t0 = Date.UTC(2026, 10, 21, 23, 59, 59, 500);

function envelopes(shard: number, events: LedgerEvent[], firstSeq = 1): EnvelopeInput[] {
  return events.map((event, index) => ({ shard, seq: firstSeq + index, raftIndex: 10 + index, raftTerm: 2, commandId: `cmd-${firstSeq + index}`, eventIndex: 0, occurredAtMs: t0 + (firstSeq + index) * 100, event }));
}

function consumed(inputs: EnvelopeInput[], firstOffset = 0): PartitionMessage[] {
  return asConsumed(inputs.map(encodeEnvelopeMessage), firstOffset);
}

async function rows(db: Kysely<unknown>, query: string): Promise<Record<string, unknown>[]> {
  return (await sql.raw<Record<string, unknown>>(query).execute(db)).rows;
}

async function applyAll(db: Kysely<unknown>, shard: number, messages: PartitionMessage[], chunk = eventsPerBatchMax): Promise<ApplyOutcome[]> {
  const outcomes: ApplyOutcome[] = [];
  for (let start = 0; start < messages.length; start += chunk) outcomes.push(await applyBatch(db, { shard, messages: messages.slice(start, start + chunk), target: { kind: 'live' } }));
  return outcomes;
}

describe('applyBatch on real Postgres', () => {
  let database: TestDatabase<unknown>;
  let db: Kysely<unknown>;

  beforeAll(async () => {
    database = await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_apply');
    db = database.db;
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('projects every event type into accounts, transfers, entries and daily totals', async () => {
    const shard = 3;
    const events: LedgerEvent[] = [
      { type: 'AccountCreated', data: { id: 'alice', ledger: 1, code: 10, flags, userData: 'u-a' } },
      { type: 'AccountCreated', data: { id: 'bob', ledger: 1, code: 20, flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: false }, userData: undefined } },
      { type: 'TransferCreated', data: { id: 't1', debitAccountId: 'alice', creditAccountId: 'bob', amount: 1250n, ledger: 1, code: 1, userData: undefined, pending: false, timeoutSeconds: 0, timeoutAt: undefined } },
      { type: 'TransferCreated', data: { id: 't2', debitAccountId: 'alice', creditAccountId: 'bob', amount: 500n, ledger: 1, code: 2, userData: undefined, pending: true, timeoutSeconds: 30, timeoutAt: t0 + 30_000 } },
      { type: 'PendingTransferPosted', data: { id: 't3', pendingId: 't2', amount: 400n, pendingAmount: 500n, debitAccountId: 'alice', creditAccountId: 'bob', ledger: 1, code: 2, userData: undefined } },
      { type: 'TransferCreated', data: { id: 't4', debitAccountId: 'bob', creditAccountId: 'alice', amount: 9223372036854775807n, ledger: 1, code: 3, userData: undefined, pending: true, timeoutSeconds: 0, timeoutAt: undefined } },
      { type: 'PendingTransferVoided', data: { id: 't5', pendingId: 't4', amount: 9223372036854775807n, pendingAmount: 9223372036854775807n, debitAccountId: 'bob', creditAccountId: 'alice', ledger: 1, code: 3, userData: 'v' } },
      { type: 'TransferCreated', data: { id: 't6', debitAccountId: 'bob', creditAccountId: 'alice', amount: 70n, ledger: 1, code: 4, userData: undefined, pending: true, timeoutSeconds: 1, timeoutAt: t0 + 1_000 } },
    ];
    const first = consumed(envelopes(shard, events));
    // The expiry comes in a later batch, so it resolves a pending row of an earlier batch.
    const expiry = consumed(envelopes(shard, [{ type: 'PendingTransferExpired', data: { pendingId: 't6', amount: 70n, debitAccountId: 'bob', creditAccountId: 'alice', ledger: 1, code: 4, expiredAt: t0 + 2_000 } }], 9), 8);
    const outcome = await applyBatch(db, { shard, messages: first, target: { kind: 'live' } });
    expect(outcome).toMatchObject({ versionSchema: 'ledger_v1', checkpointBefore: 0, checkpointAfter: 8, applied: 8, duplicates: 0, stop: undefined, resolvedOffset: '7' });
    const second = await applyBatch(db, { shard, messages: [...first.slice(6), ...expiry], target: { kind: 'live' } });
    expect(second).toMatchObject({ checkpointBefore: 8, checkpointAfter: 9, applied: 1, duplicates: 2, stop: undefined, resolvedOffset: '8' });

    expect(await rows(db, `SELECT id, ledger, code, debits_pending, debits_posted, credits_pending, credits_posted, balance, seq, updated_at::text FROM bi.accounts ORDER BY id`)).toEqual([
      { id: 'alice', ledger: '1', code: '10', debits_pending: '0', debits_posted: '1650', credits_pending: '0', credits_posted: '0', balance: '-1650', seq: '9', updated_at: '2026-11-22 00:00:00.4+00' },
      { id: 'bob', ledger: '1', code: '20', debits_pending: '0', debits_posted: '0', credits_pending: '0', credits_posted: '1650', balance: '1650', seq: '9', updated_at: '2026-11-22 00:00:00.4+00' },
    ]);
    expect(await rows(db, `SELECT id, debit_account_id, credit_account_id, amount, status, pending_id, seq FROM bi.transfers ORDER BY seq`)).toEqual([
      { id: 't1', debit_account_id: 'alice', credit_account_id: 'bob', amount: '1250', status: 'posted', pending_id: null, seq: '3' },
      { id: 't2', debit_account_id: 'alice', credit_account_id: 'bob', amount: '500', status: 'posted', pending_id: null, seq: '4' },
      { id: 't3', debit_account_id: 'alice', credit_account_id: 'bob', amount: '400', status: 'posted', pending_id: 't2', seq: '5' },
      { id: 't4', debit_account_id: 'bob', credit_account_id: 'alice', amount: '9223372036854775807', status: 'voided', pending_id: null, seq: '6' },
      { id: 't5', debit_account_id: 'bob', credit_account_id: 'alice', amount: '9223372036854775807', status: 'voided', pending_id: 't4', seq: '7' },
      { id: 't6', debit_account_id: 'bob', credit_account_id: 'alice', amount: '70', status: 'expired', pending_id: null, seq: '8' },
    ]);
    expect(await rows(db, `SELECT id, kind, resolved_by, status_seq, timeout_at::text FROM ledger.transfers WHERE kind = 'pending' ORDER BY id`)).toEqual([
      { id: 't2', kind: 'pending', resolved_by: 't3', status_seq: '5', timeout_at: '2026-11-22 00:00:29.5+00' },
      { id: 't4', kind: 'pending', resolved_by: 't5', status_seq: '7', timeout_at: null },
      { id: 't6', kind: 'pending', resolved_by: null, status_seq: '9', timeout_at: '2026-11-22 00:00:00.5+00' },
    ]);
    expect(await rows(db, `SELECT seq, transfer_id, kind, direction, amount, balance_after FROM bi.account_entries WHERE account_id = 'alice' ORDER BY seq`)).toEqual([
      { seq: '3', transfer_id: 't1', kind: 'single_phase', direction: 'debit', amount: '1250', balance_after: '-1250' },
      { seq: '4', transfer_id: 't2', kind: 'pending', direction: 'debit', amount: '500', balance_after: '-1250' },
      { seq: '5', transfer_id: 't3', kind: 'post_pending', direction: 'debit', amount: '400', balance_after: '-1650' },
      { seq: '6', transfer_id: 't4', kind: 'pending', direction: 'credit', amount: '9223372036854775807', balance_after: '-1650' },
      { seq: '7', transfer_id: 't5', kind: 'void_pending', direction: 'credit', amount: '9223372036854775807', balance_after: '-1650' },
      { seq: '8', transfer_id: 't6', kind: 'pending', direction: 'credit', amount: '70', balance_after: '-1650' },
      { seq: '9', transfer_id: 't6', kind: 'expire_pending', direction: 'credit', amount: '70', balance_after: '-1650' },
    ]);
    // seq 1–4 happen on 2026-11-21 (t0 + seq·100 ms < midnight), 5–9 on 2026-11-22.
    expect(await rows(db, `SELECT day::text, ledger, account_id, debits, credits, closing_balance FROM bi.daily_ledger_totals ORDER BY account_id, day`)).toEqual([
      { day: '2026-11-21', ledger: '1', account_id: 'alice', debits: '1250', credits: '0', closing_balance: '-1250' },
      { day: '2026-11-22', ledger: '1', account_id: 'alice', debits: '400', credits: '0', closing_balance: '-1650' },
      { day: '2026-11-21', ledger: '1', account_id: 'bob', debits: '0', credits: '1250', closing_balance: '1250' },
      { day: '2026-11-22', ledger: '1', account_id: 'bob', debits: '0', credits: '400', closing_balance: '1650' },
    ]);
    expect(await rows(db, `SELECT shard, seq, kafka_offset FROM ledger.checkpoints WHERE shard = ${shard}`)).toEqual([{ shard, seq: '9', kafka_offset: '8' }]);
    // The Kysely types readers use match the views.
    const typed = db as Kysely<LedgerReadModelDatabase>;
    expect(await typed.selectFrom('ledger.accounts').select(['id', 'balance', 'seq']).where('id', '=', 'bob').execute()).toEqual([{ id: 'bob', balance: '1650', seq: '9' }]);
    expect(await typed.selectFrom('ledger.transfers').select(['id', 'status', 'resolved_by']).where('id', '=', 't2').execute()).toEqual([{ id: 't2', status: 'posted', resolved_by: 't3' }]);
  });

  it('a gap, a malformed event and an inconsistent event stop the partition after committing the events before them', async () => {
    const base = envelopes(10, [
      { type: 'AccountCreated', data: { id: 'g-a', ledger: 1, code: 1, flags, userData: undefined } },
      { type: 'AccountCreated', data: { id: 'g-b', ledger: 1, code: 1, flags, userData: undefined } },
    ]);
    const gap = await applyBatch(db, { shard: 10, messages: consumed([base[0]!, { ...base[1]!, seq: 3 }]), target: { kind: 'live' } });
    expect(gap.stop).toEqual({ code: 'seq_gap', shard: 10, seq: 3, offset: '1', reason: 'expected seq 2, got 3 (missing 1 events)' });
    expect(gap).toMatchObject({ applied: 1, checkpointAfter: 1 });

    const good = consumed(base.slice(1), 1);
    const malformed: PartitionMessage = { offset: '2', value: Buffer.from(JSON.stringify({ ...JSON.parse(encodeEnvelopeMessage({ ...base[1]!, seq: 3 }).value), data: { id: 'g-c', ledger: 0, code: 1, flags, userData: null } })) };
    const bad = await applyBatch(db, { shard: 10, messages: [...good, malformed], target: { kind: 'live' } });
    expect(bad.stop).toMatchObject({ code: 'invalid_event', shard: 10, seq: 3, offset: '2' });
    expect(bad.stop?.reason).toBe('data.ledger must be an integer in 1..4294967295');
    expect(bad).toMatchObject({ applied: 1, checkpointAfter: 2 });

    const unknownAccount = envelopes(10, [{ type: 'TransferCreated', data: { id: 'g-t', debitAccountId: 'g-a', creditAccountId: 'nobody', amount: 5n, ledger: 1, code: 1, userData: undefined, pending: false, timeoutSeconds: 0, timeoutAt: undefined } }], 3);
    const inconsistent = await applyBatch(db, { shard: 10, messages: consumed(unknownAccount, 2), target: { kind: 'live' } });
    expect(inconsistent.stop).toEqual({ code: 'inconsistent_event', shard: 10, seq: 3, offset: '2', reason: 'TransferCreated: credit account nobody does not exist' });
    expect(inconsistent.applied).toBe(0);
    expect(await rows(db, `SELECT count(*)::int AS n FROM ledger.transfers WHERE id = 'g-t'`)).toEqual([{ n: 0 }]);
    expect(await rows(db, `SELECT seq FROM ledger.checkpoints WHERE shard = 10`)).toEqual([{ seq: '2' }]);
  });

  it('a random Decider history in bounded batches equals the Decider state, and replaying it again changes nothing', async () => {
    const shard = 20;
    const history = generateHistory({ seed: 42, shard, accounts: 40, transfers: 3_000 });
    const messages = asConsumed(historyMessages(history));
    const kinds = new Set(history.inputs.map((input) => input.event.type));
    expect([...kinds].sort()).toEqual(['AccountCreated', 'PendingTransferExpired', 'PendingTransferPosted', 'PendingTransferVoided', 'TransferCreated']);
    await applyAll(db, shard, messages, 700);
    const projected = await rows(db, `SELECT id, debits_pending, debits_posted, credits_pending, credits_posted, seq FROM ledger.accounts WHERE shard = ${shard} ORDER BY id`);
    const expected = [...history.state.accounts()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((account) => ({
      id: account.id, debits_pending: String(account.debitsPending), debits_posted: String(account.debitsPosted),
      credits_pending: String(account.creditsPending), credits_posted: String(account.creditsPosted),
    }));
    expect(projected.map(({ seq: _seq, ...rest }) => rest)).toEqual(expected);
    expect(await rows(db, `SELECT count(*)::int AS n FROM ledger.transfers WHERE shard = ${shard}`)).toEqual([{ n: [...history.state.transfers()].length }]);
    const statuses = await rows(db, `SELECT id, status FROM ledger.transfers WHERE shard = ${shard} AND kind = 'pending' ORDER BY id`);
    expect(statuses).toEqual([...history.state.transfers()].filter((transfer) => transfer.kind === 'pending').sort((a, b) => (a.id < b.id ? -1 : 1)).map((transfer) => ({ id: transfer.id, status: transfer.pendingStatus })));

    const before = await dumpVersion(db, 'ledger_v1');
    const replay = await applyAll(db, shard, messages, 1_000);
    expect(replay.reduce((sum, outcome) => sum + outcome.applied, 0)).toBe(0);
    expect(replay.reduce((sum, outcome) => sum + outcome.duplicates, 0)).toBe(messages.length);
    expect(await dumpVersion(db, 'ledger_v1')).toEqual(before);
  });
});
