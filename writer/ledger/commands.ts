import type { AccountInput } from './account.ts';
import type { TransferInput } from './transfer.ts';

/** Time and ids come in on the command, so decide stays pure and deterministic. */
export interface CommandMetadata {
  /** The leader's clock, ms since the epoch. */
  readonly now: number;
  readonly commandId: string;
}

export interface CreateAccounts {
  readonly type: 'CreateAccounts';
  readonly data: { readonly accounts: readonly AccountInput[] };
  readonly metadata: CommandMetadata;
}

export interface CreateTransfers {
  readonly type: 'CreateTransfers';
  readonly data: { readonly transfers: readonly TransferInput[] };
  readonly metadata: CommandMetadata;
}

/**
 * Issued by the leader's timer: expire every pending transfer whose `timeoutAt` ≤ `data.now`
 * (at most `expiriesPerCommandMax` per command; the timer issues another for the rest).
 */
export interface ExpirePendingTransfers {
  readonly type: 'ExpirePendingTransfers';
  readonly data: { readonly now: number };
  readonly metadata: CommandMetadata;
}

export type LedgerCommand = CreateAccounts | CreateTransfers | ExpirePendingTransfers;
