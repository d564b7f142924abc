/**
 * Kysely types of the ledger read models as readers see them: the stable `ledger.*` views (always
 * the live version) and the `bi.*` views. Postgres bigint and numeric come back as decimal strings
 * (common/database/connect.ts), timestamps as Date. Use with `Kysely<LedgerReadModelDatabase>`.
 */
export type DecimalString = string;

export interface AccountView {
  id: string;
  shard: number;
  ledger: DecimalString;
  code: DecimalString;
  debits_must_not_exceed_credits: boolean;
  credits_must_not_exceed_debits: boolean;
  user_data: string | null;
  debits_pending: DecimalString;
  debits_posted: DecimalString;
  credits_pending: DecimalString;
  credits_posted: DecimalString;
  /** credits_posted − debits_posted. */
  balance: DecimalString;
  created_seq: DecimalString;
  created_at: Date;
  /** Last event seq reflected in the row. */
  seq: DecimalString;
  updated_at: Date;
}

export interface TransferView {
  id: string;
  shard: number;
  kind: 'single_phase' | 'pending' | 'post_pending' | 'void_pending';
  debit_account_id: string;
  credit_account_id: string;
  amount: DecimalString;
  ledger: DecimalString;
  code: DecimalString;
  user_data: string | null;
  status: 'posted' | 'pending' | 'voided' | 'expired';
  pending_id: string | null;
  pending_amount: DecimalString | null;
  timeout_seconds: DecimalString;
  timeout_at: Date | null;
  resolved_by: string | null;
  seq: DecimalString;
  occurred_at: Date;
  status_seq: DecimalString;
  status_changed_at: Date;
}

export interface AccountEntryView {
  account_id: string;
  seq: DecimalString;
  shard: number;
  transfer_id: string;
  kind: 'single_phase' | 'pending' | 'post_pending' | 'void_pending' | 'expire_pending';
  direction: 'debit' | 'credit';
  amount: DecimalString;
  pending_change: DecimalString;
  posted_change: DecimalString;
  balance_after: DecimalString;
  occurred_at: Date;
}

export interface DailyTotalView {
  account_id: string;
  day: Date;
  ledger: DecimalString;
  debits: DecimalString;
  credits: DecimalString;
  closing_balance: DecimalString;
  seq: DecimalString;
}

export interface CheckpointView {
  shard: number;
  seq: DecimalString;
  kafka_offset: DecimalString;
  updated_at: Date;
  projection: string;
}

export interface LedgerReadModelDatabase {
  'ledger.accounts': AccountView;
  'ledger.transfers': TransferView;
  'ledger.account_entries': AccountEntryView;
  'ledger.daily_totals': DailyTotalView;
  'ledger.checkpoints': CheckpointView;
  'bi.accounts': Pick<AccountView, 'id' | 'ledger' | 'code' | 'debits_pending' | 'debits_posted' | 'credits_pending' | 'credits_posted' | 'balance' | 'seq' | 'updated_at'>;
  'bi.transfers': Pick<TransferView, 'id' | 'debit_account_id' | 'credit_account_id' | 'amount' | 'ledger' | 'code' | 'status' | 'pending_id' | 'seq' | 'occurred_at'>;
  'bi.account_entries': Pick<AccountEntryView, 'account_id' | 'transfer_id' | 'seq' | 'direction' | 'amount' | 'balance_after' | 'occurred_at' | 'kind'>;
  'bi.daily_ledger_totals': Pick<DailyTotalView, 'day' | 'ledger' | 'account_id' | 'debits' | 'credits' | 'closing_balance'>;
}

/** Channel the projector notifies on when a live checkpoint advances; payload {"projection","shard","seq"}. */
export { checkpointChannel } from './batch-apply.ts';
