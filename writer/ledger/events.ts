import type { AccountFlags } from './account.ts';

/**
 * Events appended to the Raft log and published to Kafka (`type` names are a Kafka contract).
 * Every event carries what a projector needs without reading state: accounts, ledger, code and
 * amounts, so downstream never joins.
 */
export interface AccountCreated {
  readonly type: 'AccountCreated';
  readonly data: {
    readonly id: string;
    readonly ledger: number;
    readonly code: number;
    readonly flags: AccountFlags;
    readonly userData: string | undefined;
  };
}

/** A single-phase (posted at once, `pending: false`) or pending transfer. */
export interface TransferCreated {
  readonly type: 'TransferCreated';
  readonly data: {
    readonly id: string;
    readonly debitAccountId: string;
    readonly creditAccountId: string;
    readonly amount: bigint;
    readonly ledger: number;
    readonly code: number;
    readonly userData: string | undefined;
    readonly pending: boolean;
    /** As given by the client; 0 when no timeout (always 0 when not pending). */
    readonly timeoutSeconds: number;
    /** Pending with a timeout only: ms since the epoch, by the leader's clock. */
    readonly timeoutAt: number | undefined;
  };
}

/** Shared shape of a post and a void: the resolving transfer and what it copied from the pending. */
export interface PendingResolutionData {
  /** Id of the new (post or void) transfer. */
  readonly id: string;
  readonly pendingId: string;
  /** Posted amount (≤ pendingAmount); for a void, equal to pendingAmount. */
  readonly amount: bigint;
  /** Amount the pending transfer reserved, released from the pending counters now. */
  readonly pendingAmount: bigint;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly ledger: number;
  readonly code: number;
  readonly userData: string | undefined;
}

export interface PendingTransferPosted {
  readonly type: 'PendingTransferPosted';
  readonly data: PendingResolutionData;
}

export interface PendingTransferVoided {
  readonly type: 'PendingTransferVoided';
  readonly data: PendingResolutionData;
}

/** Expiry decided by the leader's clock (never by a follower's wall clock). */
export interface PendingTransferExpired {
  readonly type: 'PendingTransferExpired';
  readonly data: {
    readonly pendingId: string;
    readonly amount: bigint;
    readonly debitAccountId: string;
    readonly creditAccountId: string;
    readonly ledger: number;
    readonly code: number;
    /** ms since the epoch: the leader's clock when it decided the expiry. */
    readonly expiredAt: number;
  };
}

export type LedgerEvent =
  | AccountCreated
  | TransferCreated
  | PendingTransferPosted
  | PendingTransferVoided
  | PendingTransferExpired;

export type LedgerEventType = LedgerEvent['type'];

export const ledgerEventTypes: readonly LedgerEventType[] = [
  'AccountCreated',
  'TransferCreated',
  'PendingTransferPosted',
  'PendingTransferVoided',
  'PendingTransferExpired',
];
