// Frozen in time: takes Kysely<any> and never imports application types (STYLE.md).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE SCHEMA IF NOT EXISTS ledger`.execute(db);
  await db.schema
    .withSchema('ledger')
    .createTable('projection_checkpoints')
    .addColumn('projection', 'text', (column) => column.notNull())
    .addColumn('shard', 'integer', (column) => column.notNull().check(sql`shard >= 0`))
    .addColumn('seq', 'bigint', (column) => column.notNull().check(sql`seq >= 0`))
    .addColumn('kafka_offset', 'bigint', (column) => column.notNull().check(sql`kafka_offset >= -1`))
    .addColumn('updated_at', 'timestamptz', (column) => column.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('projection_checkpoints_pkey', ['projection', 'shard'])
    .execute();
  await sql`COMMENT ON TABLE ledger.projection_checkpoints IS 'Per projection and shard: the last event seq applied, written in the same transaction as the read-model rows.'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.withSchema('ledger').dropTable('projection_checkpoints').execute();
}
