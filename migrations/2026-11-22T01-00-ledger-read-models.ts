// Frozen in time: takes Kysely<any> and never imports application types (STYLE.md).
//
// Read models of the ledger projection (DESIGN.md §6), versioned so a rebuild can build a second
// version beside the live one:
//   ledger_v1.*                   physical tables of version 1 (a rebuild makes ledger_v2 … with
//                                 `CREATE TABLE … (LIKE ledger_v1.… INCLUDING ALL)`);
//   ledger.read_model_versions    which version schema is live (exactly one row 'live');
//   ledger.point_views_at(schema) (re)points the stable views at a version — the rebuild's atomic
//                                 switch runs it inside one transaction;
//   ledger.*  views               what the query API reads;  bi.* views: the BI contract;
//   ledger.checkpoints            the live version's checkpoints (projection_checkpoints rows whose
//                                 projection is the live version schema).
// Amounts of a single transfer are bigint (1..2^63−1). Counters, balances and sums are
// numeric(39,0): a sum of many bigint amounts can exceed 2^63−1 (39 digits hold any 128-bit value).
// Role ledger_bi (cluster-wide, NOLOGIN until the projector sets a password from
// LEDGER_BI_PASSWORD) may USAGE schema bi and SELECT its views, nothing else; the views are owned
// by the migrating role, so ledger_bi needs no rights on the tables behind them.
import { sql, type Kysely } from 'kysely';

const counter = 'numeric(39,0) NOT NULL';

const tables = [
  `CREATE SCHEMA ledger_v1`,
  `CREATE TABLE ledger_v1.accounts (
    id text PRIMARY KEY,
    shard integer NOT NULL,
    ledger bigint NOT NULL CHECK (ledger > 0),
    code bigint NOT NULL CHECK (code >= 0),
    debits_must_not_exceed_credits boolean NOT NULL,
    credits_must_not_exceed_debits boolean NOT NULL,
    user_data text,
    debits_pending ${counter} CHECK (debits_pending >= 0),
    debits_posted ${counter} CHECK (debits_posted >= 0),
    credits_pending ${counter} CHECK (credits_pending >= 0),
    credits_posted ${counter} CHECK (credits_posted >= 0),
    created_seq bigint NOT NULL CHECK (created_seq > 0),
    created_at timestamptz NOT NULL,
    seq bigint NOT NULL CHECK (seq >= created_seq),
    updated_at timestamptz NOT NULL
  )`,
  `CREATE TABLE ledger_v1.transfers (
    id text PRIMARY KEY,
    shard integer NOT NULL,
    kind text NOT NULL CHECK (kind IN ('single_phase', 'pending', 'post_pending', 'void_pending')),
    debit_account_id text NOT NULL,
    credit_account_id text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    ledger bigint NOT NULL CHECK (ledger > 0),
    code bigint NOT NULL CHECK (code >= 0),
    user_data text,
    status text NOT NULL CHECK (status IN ('posted', 'pending', 'voided', 'expired')),
    pending_id text,
    pending_amount bigint,
    timeout_seconds bigint NOT NULL DEFAULT 0,
    timeout_at timestamptz,
    resolved_by text,
    seq bigint NOT NULL CHECK (seq > 0),
    occurred_at timestamptz NOT NULL,
    status_seq bigint NOT NULL CHECK (status_seq >= seq),
    status_changed_at timestamptz NOT NULL
  )`,
  `CREATE INDEX transfers_pending_id ON ledger_v1.transfers (pending_id) WHERE pending_id IS NOT NULL`,
  `CREATE TABLE ledger_v1.account_entries (
    account_id text NOT NULL,
    seq bigint NOT NULL CHECK (seq > 0),
    shard integer NOT NULL,
    transfer_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('single_phase', 'pending', 'post_pending', 'void_pending', 'expire_pending')),
    direction text NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount bigint NOT NULL CHECK (amount > 0),
    pending_change bigint NOT NULL,
    posted_change bigint NOT NULL CHECK (posted_change >= 0),
    balance_after numeric(39,0) NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, seq)
  )`,
  `CREATE TABLE ledger_v1.daily_totals (
    account_id text NOT NULL,
    day date NOT NULL,
    ledger bigint NOT NULL,
    debits ${counter} CHECK (debits >= 0),
    credits ${counter} CHECK (credits >= 0),
    closing_balance numeric(39,0) NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (account_id, day)
  )`,
  `CREATE INDEX daily_totals_day_ledger ON ledger_v1.daily_totals (day, ledger)`,
  `CREATE TABLE ledger.read_model_versions (
    version_schema text PRIMARY KEY CHECK (version_schema ~ '^ledger_v[0-9]+$'),
    status text NOT NULL CHECK (status IN ('building', 'live', 'retired', 'failed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    switched_at timestamptz,
    note text
  )`,
  `CREATE UNIQUE INDEX read_model_versions_one_live ON ledger.read_model_versions ((true)) WHERE status = 'live'`,
  `INSERT INTO ledger.read_model_versions (version_schema, status, switched_at, note) VALUES ('ledger_v1', 'live', now(), 'created by migration')`,
  `COMMENT ON TABLE ledger.read_model_versions IS 'Versions of the ledger read models (one schema each); exactly one is live: the ledger.* and bi.* views select from it.'`,
];

// The stable views, as a function of the version schema: one definition the migration and the
// rebuild's switch both use. CREATE OR REPLACE VIEW keeps each view's comments and grants.
const pointViewsAt = `CREATE FUNCTION ledger.point_views_at(version_schema text) RETURNS void LANGUAGE plpgsql AS $function$
BEGIN
  EXECUTE format($view$CREATE OR REPLACE VIEW ledger.accounts AS
    SELECT id, shard, ledger, code, debits_must_not_exceed_credits, credits_must_not_exceed_debits, user_data,
           debits_pending, debits_posted, credits_pending, credits_posted, credits_posted - debits_posted AS balance,
           created_seq, created_at, seq, updated_at
    FROM %I.accounts$view$, version_schema);
  EXECUTE format($view$CREATE OR REPLACE VIEW ledger.transfers AS
    SELECT id, shard, kind, debit_account_id, credit_account_id, amount, ledger, code, user_data, status, pending_id,
           pending_amount, timeout_seconds, timeout_at, resolved_by, seq, occurred_at, status_seq, status_changed_at
    FROM %I.transfers$view$, version_schema);
  EXECUTE format($view$CREATE OR REPLACE VIEW ledger.account_entries AS
    SELECT account_id, seq, shard, transfer_id, kind, direction, amount, pending_change, posted_change, balance_after, occurred_at
    FROM %I.account_entries$view$, version_schema);
  EXECUTE format($view$CREATE OR REPLACE VIEW ledger.daily_totals AS
    SELECT account_id, day, ledger, debits, credits, closing_balance, seq
    FROM %I.daily_totals$view$, version_schema);
  EXECUTE format($view$CREATE OR REPLACE VIEW bi.accounts AS
    SELECT id, ledger, code, debits_pending, debits_posted, credits_pending, credits_posted,
           credits_posted - debits_posted AS balance, seq, updated_at
    FROM %I.accounts$view$, version_schema);
  EXECUTE format($view$CREATE OR REPLACE VIEW bi.transfers AS
    SELECT id, debit_account_id, credit_account_id, amount, ledger, code, status, pending_id, seq, occurred_at
    FROM %I.transfers$view$, version_schema);
  EXECUTE format($view$CREATE OR REPLACE VIEW bi.account_entries AS
    SELECT account_id, transfer_id, seq, direction, amount, balance_after, occurred_at, kind
    FROM %I.account_entries$view$, version_schema);
  EXECUTE format($view$CREATE OR REPLACE VIEW bi.daily_ledger_totals AS
    SELECT day, ledger, account_id, debits, credits, closing_balance
    FROM %I.daily_totals$view$, version_schema);
END
$function$`;

const comments: Record<string, { view: string; columns: Record<string, string> }> = {
  'bi.accounts': {
    view: 'One row per ledger account: its four counters and credit-normal balance, as of the event seq in column seq.',
    columns: {
      id: 'Account id chosen by the client (1-64 characters of [A-Za-z0-9._:-]).',
      ledger: 'Ledger number (a currency or book); transfers only move amounts within one ledger.',
      code: 'User-defined account category.',
      debits_pending: 'Sum of pending (reserved, not yet posted) debit amounts, in minor units.',
      debits_posted: 'Sum of posted debit amounts, in minor units.',
      credits_pending: 'Sum of pending (reserved, not yet posted) credit amounts, in minor units.',
      credits_posted: 'Sum of posted credit amounts, in minor units.',
      balance: 'Credit-normal balance: credits_posted - debits_posted, in minor units.',
      seq: 'Seq (per-shard event position) of the last event reflected in this row.',
      updated_at: 'Ledger time (UTC) of the last event reflected in this row.',
    },
  },
  'bi.transfers': {
    view: 'One row per transfer. A post or void of a pending transfer is its own row with pending_id set; the pending row\'s status changes when it is resolved or expires.',
    columns: {
      id: 'Transfer id chosen by the client.',
      debit_account_id: 'Account debited.',
      credit_account_id: 'Account credited.',
      amount: 'Amount in minor units (1..2^63-1); for a post, the posted amount; for a void, the voided amount.',
      ledger: 'Ledger number of both accounts.',
      code: 'User-defined transfer category.',
      status: 'posted | pending | voided | expired. A single-phase transfer and a post are posted; a void is voided; a pending transfer is pending until posted, voided or expired.',
      pending_id: 'For a post or void: id of the pending transfer it resolves; otherwise null.',
      seq: 'Seq of the event that created the transfer.',
      occurred_at: 'Ledger time (UTC) the transfer was created.',
    },
  },
  'bi.account_entries': {
    view: 'Per-account history: one row per event touching the account, with the balance after it.',
    columns: {
      account_id: 'Account the entry belongs to.',
      transfer_id: 'Transfer that caused the entry (for an expiry, the pending transfer).',
      seq: 'Seq of the event; per account, entries are ordered by seq.',
      direction: 'debit or credit: the side of the transfer this account is on.',
      amount: 'Amount of the transfer or resolution in minor units (posted amount for a post, reserved amount for a pending, released amount for a void or expiry).',
      balance_after: 'Credit-normal balance (credits_posted - debits_posted) of the account after this entry.',
      occurred_at: 'Ledger time (UTC) of the event.',
      kind: 'single_phase | pending | post_pending | void_pending | expire_pending. Only single_phase and post_pending change the balance.',
    },
  },
  'bi.daily_ledger_totals': {
    view: 'Per UTC day, ledger and account: posted debits and credits of that day and the balance at the end of the day (days with activity only).',
    columns: {
      day: 'UTC calendar day of the events.',
      ledger: 'Ledger number of the account.',
      account_id: 'Account.',
      debits: 'Sum of amounts posted to the debit side that day, in minor units.',
      credits: 'Sum of amounts posted to the credit side that day, in minor units.',
      closing_balance: 'Credit-normal balance after the account\'s last event of that day.',
    },
  },
};

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of tables) await sql.raw(statement).execute(db);
  await sql`CREATE SCHEMA IF NOT EXISTS bi`.execute(db);
  await sql.raw(pointViewsAt).execute(db);
  await sql`REVOKE ALL ON FUNCTION ledger.point_views_at(text) FROM PUBLIC`.execute(db);
  await sql`SELECT ledger.point_views_at('ledger_v1')`.execute(db);
  await sql.raw(`CREATE VIEW ledger.checkpoints AS
    SELECT c.shard, c.seq, c.kafka_offset, c.updated_at, c.projection
    FROM ledger.projection_checkpoints c JOIN ledger.read_model_versions v ON v.version_schema = c.projection
    WHERE v.status = 'live'`).execute(db);
  await sql`COMMENT ON VIEW ledger.checkpoints IS 'Checkpoints (shard → last applied seq) of the live read-model version; readers wait on these.'`.execute(db);
  await sql`COMMENT ON SCHEMA bi IS 'BI contract: stable, documented, read-only views of the ledger read models (role ledger_bi).'`.execute(db);
  for (const [view, comment] of Object.entries(comments)) {
    await sql.raw(`COMMENT ON VIEW ${view} IS ${quote(comment.view)}`).execute(db);
    for (const [column, text] of Object.entries(comment.columns)) {
      await sql.raw(`COMMENT ON COLUMN ${view}.${column} IS ${quote(text)}`).execute(db);
    }
  }
  // The role is cluster-wide: create it once, never with a password here (NOLOGIN until the
  // projector sets one from config).
  await sql.raw(`DO $do$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_bi') THEN CREATE ROLE ledger_bi NOLOGIN; END IF;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; -- created concurrently by another database's migration
  END $do$`).execute(db);
  await sql.raw(`DO $do$ BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO ledger_bi', current_database());
    -- PUBLIC may create temporary tables by default; take that away so ledger_bi can write nowhere.
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), current_user);
  END $do$`).execute(db);
  await sql`REVOKE ALL ON SCHEMA public FROM ledger_bi`.execute(db);
  await sql`GRANT USAGE ON SCHEMA bi TO ledger_bi`.execute(db);
  await sql`GRANT SELECT ON ALL TABLES IN SCHEMA bi TO ledger_bi`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP SCHEMA bi CASCADE`.execute(db);
  await sql`DROP VIEW ledger.checkpoints, ledger.accounts, ledger.transfers, ledger.account_entries, ledger.daily_totals`.execute(db);
  await sql`DROP FUNCTION ledger.point_views_at(text)`.execute(db);
  await sql`DROP TABLE ledger.read_model_versions`.execute(db);
  await sql`DROP SCHEMA ledger_v1 CASCADE`.execute(db);
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
