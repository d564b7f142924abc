/** withClientTransaction against real Postgres when the server ends the connection mid-transaction. */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/isolation.ts';
import { withClientTransaction } from './connect.ts';

describe('withClientTransaction', () => {
  let database: TestDatabase<unknown>;

  beforeAll(async () => {
    database = await createTestDatabase<unknown>(inject('databaseUrl'), 'connect');
  });

  afterAll(async () => {
    await database.drop();
  });

  it('fails the transaction — not the process — when the server terminates its connection between queries', async () => {
    const killer = new pg.Client({ connectionString: database.url });
    await killer.connect();
    try {
      const attempt = withClientTransaction(database.db, async (_transaction, client) => {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        // The server's goodbye arrives while no query runs on the connection (as during the
        // projector's fold between COPY slices): node-postgres emits it as an 'error' event.
        await new Promise((resolve) => setTimeout(resolve, 300));
        await client.query('SELECT 1');
      });
      await expect(attempt).rejects.toThrow(/terminat|Connection/i);
    } finally {
      await killer.end();
    }
    // The broken connection was not returned to the pool: the next transaction works.
    const one = await withClientTransaction(database.db, async (transaction) => (await sql<{ one: number }>`SELECT 1 AS one`.execute(transaction)).rows);
    expect(one).toEqual([{ one: 1 }]);
  });

  it('a Kysely transaction on the same pool fails the same way (the pool listens on every client it opens)', async () => {
    const killer = new pg.Client({ connectionString: database.url });
    await killer.connect();
    try {
      const attempt = database.db.transaction().execute(async (transaction) => {
        const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(transaction);
        await killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await sql`SELECT 1`.execute(transaction);
      });
      await expect(attempt).rejects.toThrow(/terminat|Connection/i);
    } finally {
      await killer.end();
    }
    expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db)).rows).toEqual([{ one: 1 }]);
  });
});
