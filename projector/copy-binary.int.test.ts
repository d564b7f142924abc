/**
 * The COPY binary encoding against real Postgres: rows with extreme values go into the read-model
 * tables by copyIn and read back (as text, by the server) exactly as written — amounts at the
 * int8 limits, balances at numeric(39,0)'s, negative values, timestamps before and after
 * 2000-01-01, NULLs and user data with tabs, backslashes, line breaks and multi-byte characters.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql } from 'kysely';
import { poolOf } from '../common/database/connect.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/isolation.ts';
import type { EntryRow, TransferRow } from './batch-fold.ts';
import { entryTuples, transferTuples } from './copy-binary.ts';
import { copyIn, entryColumns, transferColumns } from './copy-rows.ts';

const int8Max = 2n ** 63n - 1n;
const int8Min = -(2n ** 63n);

describe('COPY binary rows on real Postgres', () => {
  let database: TestDatabase<unknown>;

  beforeAll(async () => {
    database = await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_copy_binary');
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('reads back every transfer and entry value exactly as written', async () => {
    const transfers: TransferRow[] = [
      {
        id: 't-max', shard: 2_147_483_647, kind: 'single_phase', debitAccountId: 'a:1', creditAccountId: 'b.2', amount: int8Max, ledger: 1, code: 0,
        userData: 'tab\there \\N back\\slash\nnewline\r naïve — ✓', status: 'posted', pendingId: null, pendingAmount: null, timeoutSeconds: 0,
        timeoutAt: null, resolvedBy: null, seq: 1, occurredAt: '1999-12-31T23:59:59.999Z', statusSeq: 1, statusChangedAt: '1999-12-31T23:59:59.999Z',
      },
      {
        id: 'p-post', shard: 0, kind: 'post_pending', debitAccountId: 'a:1', creditAccountId: 'b.2', amount: 1n, ledger: 4_294_967_296, code: 65_535,
        userData: '', status: 'pending', pendingId: 'p-1', pendingAmount: 10_001n, timeoutSeconds: 86_400, timeoutAt: '2026-11-24T01:02:03.456Z',
        resolvedBy: 'x-9', seq: Number.MAX_SAFE_INTEGER - 1, occurredAt: '2026-11-23T01:02:03.456Z', statusSeq: Number.MAX_SAFE_INTEGER, statusChangedAt: '2026-11-23T01:02:04.000Z',
      },
    ];
    const balances = [0n, 1n, -1n, 10_000n, -99_990_000n, 10n ** 38n, -(10n ** 39n - 1n), 10n ** 39n - 1n];
    const entries: EntryRow[] = balances.map((balanceAfter, index) => ({
      accountId: `acct-${index}`, seq: index + 1, shard: 1, transferId: 't-max', kind: 'expire_pending', direction: index % 2 === 0 ? 'debit' : 'credit',
      amount: index === 0 ? int8Max : BigInt(index), pendingChange: index === 0 ? int8Min : -BigInt(index), postedChange: 0n, balanceAfter,
      occurredAt: new Date(Date.UTC(2000, 0, 1) + (index - 4) * 86_400_123).toISOString(),
    }));

    const client = await poolOf(database.db).connect();
    try {
      await client.query('BEGIN');
      await copyIn(client, 'ledger_v1', 'transfers', transferColumns, transferTuples(transfers));
      await copyIn(client, 'ledger_v1', 'account_entries', entryColumns, entryTuples(entries));
      await client.query('COMMIT');
    } finally {
      client.release();
    }

    const iso = (column: string) => sql.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
    const storedTransfers = await sql<Record<string, string | null>>`SELECT id, shard::text, kind, debit_account_id, credit_account_id, amount::text, ledger::text,
        code::text, user_data, status, pending_id, pending_amount::text, timeout_seconds::text, ${iso('timeout_at')} AS timeout_at, resolved_by, seq::text,
        ${iso('occurred_at')} AS occurred_at, status_seq::text, ${iso('status_changed_at')} AS status_changed_at
      FROM ledger_v1.transfers ORDER BY seq`.execute(database.db);
    const text = (value: string | number | bigint | null) => (value === null ? null : String(value));
    expect(storedTransfers.rows).toEqual(transfers.map((t) => ({
      id: t.id, shard: text(t.shard), kind: t.kind, debit_account_id: t.debitAccountId, credit_account_id: t.creditAccountId, amount: text(t.amount),
      ledger: text(t.ledger), code: text(t.code), user_data: t.userData, status: t.status, pending_id: t.pendingId, pending_amount: text(t.pendingAmount),
      timeout_seconds: text(t.timeoutSeconds), timeout_at: t.timeoutAt, resolved_by: t.resolvedBy, seq: text(t.seq), occurred_at: t.occurredAt,
      status_seq: text(t.statusSeq), status_changed_at: t.statusChangedAt,
    })));

    const storedEntries = await sql<Record<string, string>>`SELECT account_id, seq::text, shard::text, transfer_id, kind, direction, amount::text,
        pending_change::text, posted_change::text, balance_after::text, ${iso('occurred_at')} AS occurred_at
      FROM ledger_v1.account_entries ORDER BY seq`.execute(database.db);
    expect(storedEntries.rows).toEqual(entries.map((e) => ({
      account_id: e.accountId, seq: text(e.seq), shard: text(e.shard), transfer_id: e.transferId, kind: e.kind, direction: e.direction,
      amount: text(e.amount), pending_change: text(e.pendingChange), posted_change: text(e.postedChange), balance_after: text(e.balanceAfter),
      occurred_at: e.occurredAt,
    })));
  });
});
