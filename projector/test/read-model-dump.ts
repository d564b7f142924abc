/**
 * Test support: every row of a read-model version as text, in a fixed order, so two versions
 * (or two databases) can be compared byte for byte with one query per table.
 */
import { sql, type Kysely } from 'kysely';
import type { EnvelopeMessage } from '../../common/events/envelope.ts';
import type { PartitionMessage } from '../batch-selection.ts';

const tableOrder: Record<string, string> = {
  accounts: 'id',
  transfers: 'id',
  account_entries: 'account_id, seq',
  daily_totals: 'account_id, day',
};

export async function dumpVersion(db: Kysely<unknown>, versionSchema: string): Promise<Record<string, string>> {
  const dump: Record<string, string> = {};
  for (const [table, order] of Object.entries(tableOrder)) {
    const result = await sql<{ rows: string | null }>`SELECT string_agg(row_to_json(t)::text, E'\n' ORDER BY ${sql.raw(order)}) AS rows FROM ${sql.id(versionSchema, table)} t`.execute(db);
    dump[table] = result.rows[0]?.rows ?? '';
  }
  return dump;
}

/** Envelope messages as a consumer would see them on their partition, offsets from `firstOffset`. */
export function asConsumed(messages: readonly EnvelopeMessage[], firstOffset = 0): PartitionMessage[] {
  return messages.map((message, index) => ({ offset: String(firstOffset + index), value: Buffer.from(message.value), headers: { seq: message.headers.seq, type: message.headers.type } }));
}
