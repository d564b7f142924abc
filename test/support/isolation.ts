/**
 * Per-test-file isolation on the shared services: a fresh database (migrated) and unique topic
 * names, so test files can run in parallel without seeing each other's data.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { createDatabase } from '../../common/database/connect.ts';
import { migrateToLatest } from '../../common/database/migrate.ts';
import { createLogger } from '../../common/logger.ts';

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

export function uniqueTopic(prefix: string): string {
  return uniqueName(prefix).replace(/_/g, '.');
}

export interface TestDatabase<T> {
  readonly name: string;
  readonly url: string;
  readonly db: Kysely<T>;
  drop(): Promise<void>;
}

export async function createTestDatabase<T>(adminUrl: string, prefix: string, options: { migrate?: boolean } = {}): Promise<TestDatabase<T>> {
  const name = uniqueName(`t_${prefix}`).slice(0, 63);
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = createDatabase<T>({ url: url.toString(), applicationName: `test-${prefix}`, poolSizeMax: 5 });
  if (options.migrate ?? true) await migrateToLatest(db as Kysely<unknown>, createLogger('test-migrate', 'warn'));
  return {
    name,
    url: url.toString(),
    db,
    drop: async () => {
      await db.destroy();
      const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
