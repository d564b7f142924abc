// Frozen in time: takes Kysely<any> and never imports application types (STYLE.md).
//
// The projector rewrites every touched account and daily-total row once per batch. Leaving room
// in each page (fillfactor) lets Postgres make those updates HOT (no new index entries), which is
// most of the cost of a batch. Transfers are updated only when a pending one resolves.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE ledger_v1.accounts SET (fillfactor = 70)`.execute(db);
  await sql`ALTER TABLE ledger_v1.daily_totals SET (fillfactor = 70)`.execute(db);
  await sql`ALTER TABLE ledger_v1.transfers SET (fillfactor = 90)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE ledger_v1.accounts RESET (fillfactor)`.execute(db);
  await sql`ALTER TABLE ledger_v1.daily_totals RESET (fillfactor)`.execute(db);
  await sql`ALTER TABLE ledger_v1.transfers RESET (fillfactor)`.execute(db);
}
