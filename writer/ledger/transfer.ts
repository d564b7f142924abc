/**
 * A transfer as the ledger keeps it. Records are immutable: evolve replaces them.
 *
 * kind:
 * - `single_phase`: posted at once;
 * - `pending`: reserves `amount`; `pendingStatus` says whether it is still pending or how it ended;
 * - `post_pending` / `void_pending`: resolves the pending transfer `pendingId`. Accounts, ledger and
 *   code are copied from it; `amount` is the posted amount (a void's is the pending amount).
 */
export type TransferKind = 'single_phase' | 'pending' | 'post_pending' | 'void_pending';

export type PendingStatus = 'pending' | 'posted' | 'voided' | 'expired';

export interface Transfer {
  readonly id: string;
  readonly kind: TransferKind;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: bigint;
  readonly ledger: number;
  readonly code: number;
  readonly userData: string | undefined;
  /** `pending` only: seconds given by the client (0 = never expires). */
  readonly timeoutSeconds: number;
  /** `pending` only, with a timeout: leader's clock at creation + timeoutSeconds, in ms. */
  readonly timeoutAt: number | undefined;
  /** `pending` only. */
  readonly pendingStatus: PendingStatus | undefined;
  /** `pending` only, once resolved: id of the post/void transfer (undefined when expired). */
  readonly resolvedBy: string | undefined;
  /** `post_pending` / `void_pending` only. */
  readonly pendingId: string | undefined;
}

/**
 * What a client sends to create a transfer (shape already validated by the HTTP layer: ids,
 * amount 1..2^63−1 as bigint, integers). A post or void names only `postPendingId` /
 * `voidPendingId`; the other fields, if given, must match the pending transfer.
 */
export interface TransferInput {
  readonly id: string;
  readonly debitAccountId?: string;
  readonly creditAccountId?: string;
  readonly amount?: bigint;
  readonly ledger?: number;
  readonly code?: number;
  readonly userData?: string;
  readonly pending?: boolean;
  readonly timeoutSeconds?: number;
  readonly postPendingId?: string;
  readonly voidPendingId?: string;
  readonly linked?: boolean;
}
