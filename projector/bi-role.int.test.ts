/**
 * The BI contract on real Postgres: every bi view and column is commented; ledger_bi (with a
 * password, as the projector sets it) can SELECT the bi views and nothing else — no writes
 * anywhere, no direct reads of the ledger tables.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../test/support/isolation.ts';
import { setBiRolePassword } from './bi-role.ts';

const password = 'bi-test-password';

describe('BI schema and the ledger_bi role', () => {
  let database: TestDatabase<unknown>;
  let bi: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase<unknown>(inject('databaseUrl'), 'projector_bi');
    await setBiRolePassword(database.db, password);
    const url = new URL(database.url);
    url.username = 'ledger_bi';
    url.password = password;
    bi = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 });
    await bi.connect();
  });

  afterAll(async () => {
    await bi?.end();
    await database?.drop();
  });

  it('has the four views with the contract columns, every view and column commented', async () => {
    const columns = await sql<{ view: string; columns: string }>`
      SELECT c.relname AS view, string_agg(a.attname, ',' ORDER BY a.attnum) AS columns
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
      WHERE n.nspname = 'bi' AND c.relkind = 'v' GROUP BY c.relname ORDER BY c.relname`.execute(database.db);
    expect(columns.rows).toEqual([
      { view: 'account_entries', columns: 'account_id,transfer_id,seq,direction,amount,balance_after,occurred_at,kind' },
      { view: 'accounts', columns: 'id,ledger,code,debits_pending,debits_posted,credits_pending,credits_posted,balance,seq,updated_at' },
      { view: 'daily_ledger_totals', columns: 'day,ledger,account_id,debits,credits,closing_balance' },
      { view: 'transfers', columns: 'id,debit_account_id,credit_account_id,amount,ledger,code,status,pending_id,seq,occurred_at' },
    ]);
    const uncommented = await sql<{ name: string }>`
      SELECT c.relname || coalesce('.' || a.attname, '') AS name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
      WHERE n.nspname = 'bi' AND c.relkind = 'v'
        AND coalesce(col_description(c.oid, a.attnum), '') = '' AND (a.attnum IS NOT NULL OR obj_description(c.oid, 'pg_class') IS NULL)
      UNION ALL
      SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'bi' AND c.relkind = 'v' AND coalesce(obj_description(c.oid, 'pg_class'), '') = ''`.execute(database.db);
    expect(uncommented.rows).toEqual([]);
  });

  it('ledger_bi can read every bi view', async () => {
    await sql`INSERT INTO ledger_v1.accounts VALUES ('x', 0, 1, 1, false, false, null, 0, 0, 0, 5, 1, now(), 1, now())`.execute(database.db);
    for (const view of ['accounts', 'transfers', 'account_entries', 'daily_ledger_totals']) {
      const result = await bi.query(`SELECT count(*)::int AS n FROM bi.${view}`);
      expect(result.rows[0]).toEqual({ n: view === 'accounts' ? 1 : 0 });
    }
    expect((await bi.query('SELECT balance FROM bi.accounts')).rows).toEqual([{ balance: '5' }]);
  });

  it('ledger_bi cannot read the ledger tables or write anywhere', async () => {
    const denied = async (statement: string) => {
      const error = await bi.query(statement).then(() => undefined, (caught: { code?: string }) => caught);
      return error?.code;
    };
    // 42501 = insufficient_privilege
    expect(await denied('SELECT * FROM ledger_v1.accounts')).toBe('42501');
    expect(await denied('SELECT * FROM ledger.accounts')).toBe('42501');
    expect(await denied('SELECT * FROM ledger.projection_checkpoints')).toBe('42501');
    expect(await denied("INSERT INTO bi.accounts (id) VALUES ('y')")).toBe('42501');
    expect(await denied("UPDATE bi.transfers SET status = 'posted'")).toBe('42501');
    expect(await denied('DELETE FROM bi.account_entries')).toBe('42501');
    expect(await denied("INSERT INTO ledger_v1.accounts (id) VALUES ('y')")).toBe('42501');
    expect(await denied('CREATE TABLE public.bi_scratch (x int)')).toBe('42501');
    expect(await denied('CREATE TEMPORARY TABLE bi_scratch (x int)')).toBe('42501');
    expect(await denied('CREATE TABLE bi.scratch (x int)')).toBe('42501');
    expect(await denied('SELECT * FROM public.kysely_migration')).toBe('42501');
    expect(await denied("SELECT ledger.point_views_at('ledger_v1')")).toBe('42501');
  });
});
