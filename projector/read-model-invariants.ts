/**
 * The ledger invariants a read-model version must satisfy before it may go live (issue 6):
 *   - per ledger: sum of debits = sum of credits, pending and posted separately;
 *   - per account: the four counters equal the fold of its entries, and the balance after its
 *     last entry equals credits_posted − debits_posted;
 *   - the number of transfer rows equals the number of transfer-creating events applied.
 * Each query returns the first few violations, so the report says exactly why.
 */
import { sql, type Kysely } from 'kysely';

export const violationsPerCheckMax = 5;

export interface InvariantViolation {
  readonly check: 'ledger_balanced' | 'account_counters_match_entries' | 'transfer_count_matches_events';
  readonly detail: string;
}

export async function verifyReadModel(db: Kysely<unknown>, versionSchema: string, transferEvents: number): Promise<InvariantViolation[]> {
  const violations: InvariantViolation[] = [];
  const accounts = sql.id(versionSchema, 'accounts');
  const entries = sql.id(versionSchema, 'account_entries');
  const transfers = sql.id(versionSchema, 'transfers');
  const unbalanced = await sql<{ ledger: string; debits_pending: string; credits_pending: string; debits_posted: string; credits_posted: string }>`
    SELECT ledger, sum(debits_pending) AS debits_pending, sum(credits_pending) AS credits_pending, sum(debits_posted) AS debits_posted, sum(credits_posted) AS credits_posted
    FROM ${accounts} GROUP BY ledger
    HAVING sum(debits_pending) <> sum(credits_pending) OR sum(debits_posted) <> sum(credits_posted)
    ORDER BY ledger LIMIT ${violationsPerCheckMax}`.execute(db);
  for (const row of unbalanced.rows) {
    violations.push({ check: 'ledger_balanced', detail: `ledger ${row.ledger}: debits pending ${row.debits_pending} vs credits pending ${row.credits_pending}, debits posted ${row.debits_posted} vs credits posted ${row.credits_posted}` });
  }
  const mismatched = await sql<{ id: string; detail: string }>`
    WITH folded AS (
      SELECT account_id,
        coalesce(sum(pending_change) FILTER (WHERE direction = 'debit'), 0) AS debits_pending,
        coalesce(sum(posted_change) FILTER (WHERE direction = 'debit'), 0) AS debits_posted,
        coalesce(sum(pending_change) FILTER (WHERE direction = 'credit'), 0) AS credits_pending,
        coalesce(sum(posted_change) FILTER (WHERE direction = 'credit'), 0) AS credits_posted,
        (array_agg(balance_after ORDER BY seq DESC))[1] AS last_balance
      FROM ${entries} GROUP BY account_id)
    SELECT a.id, format('counters %s/%s/%s/%s, entries fold to %s/%s/%s/%s, last balance_after %s',
        a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
        coalesce(f.debits_pending, 0), coalesce(f.debits_posted, 0), coalesce(f.credits_pending, 0), coalesce(f.credits_posted, 0), f.last_balance) AS detail
    FROM ${accounts} a LEFT JOIN folded f ON f.account_id = a.id
    WHERE a.debits_pending <> coalesce(f.debits_pending, 0) OR a.debits_posted <> coalesce(f.debits_posted, 0)
       OR a.credits_pending <> coalesce(f.credits_pending, 0) OR a.credits_posted <> coalesce(f.credits_posted, 0)
       OR (f.last_balance IS NOT NULL AND f.last_balance <> a.credits_posted - a.debits_posted)
    ORDER BY a.id LIMIT ${violationsPerCheckMax}`.execute(db);
  for (const row of mismatched.rows) violations.push({ check: 'account_counters_match_entries', detail: `account ${row.id}: ${row.detail}` });
  const counted = await sql<{ count: string }>`SELECT count(*) AS count FROM ${transfers}`.execute(db);
  const count = Number(counted.rows[0]?.count ?? 0);
  if (count !== transferEvents) violations.push({ check: 'transfer_count_matches_events', detail: `${count} transfer rows but ${transferEvents} transfer events applied` });
  return violations;
}
