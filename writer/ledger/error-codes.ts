/**
 * Stable result codes of the ledger Decider. These strings are part of the HTTP contract
 * (DESIGN.md §4): once published, a code is never renamed or reused for another meaning.
 *
 * | code                                   | applies to | meaning                                                                                     |
 * |----------------------------------------|------------|---------------------------------------------------------------------------------------------|
 * | `flags_are_mutually_exclusive`         | both       | account: both balance flags set; transfer: more than one of `pending`, `postPendingId`, `voidPendingId` |
 * | `exists_with_different_fields`         | both       | the id is already recorded with a different body (see idempotency below)                    |
 * | `linked_event_failed`                  | transfer   | another item of the same linked chain failed, so this one was not applied either           |
 * | `linked_event_chain_open`              | transfer   | the last item of the batch has `linked: true`: the chain never closed, so it all failed     |
 * | `debit_account_id_required`            | transfer   | a single-phase or pending transfer without `debitAccountId`                                 |
 * | `credit_account_id_required`           | transfer   | a single-phase or pending transfer without `creditAccountId`                                |
 * | `amount_required`                      | transfer   | a single-phase or pending transfer without `amount`                                         |
 * | `ledger_required`                      | transfer   | a single-phase or pending transfer without `ledger`                                         |
 * | `code_required`                        | transfer   | a single-phase or pending transfer without `code`                                           |
 * | `accounts_must_be_different`           | transfer   | `debitAccountId` equals `creditAccountId`                                                   |
 * | `pending_id_must_be_different`         | transfer   | a post or void names its own id as the pending transfer                                     |
 * | `timeout_reserved_for_pending_transfer`| transfer   | `timeoutSeconds` > 0 on a transfer that is not `pending: true`                              |
 * | `account_not_found`                    | transfer   | the debit or the credit account does not exist                                              |
 * | `accounts_must_have_the_same_ledger`   | transfer   | the debit and credit accounts belong to different ledgers                                   |
 * | `ledger_mismatch`                      | transfer   | the transfer's `ledger` is not the ledger of its accounts                                   |
 * | `overflows_debits`                     | transfer   | a debit counter (pending, posted, or their sum) would exceed `counterMax` (2^63−1)          |
 * | `overflows_credits`                    | transfer   | a credit counter (pending, posted, or their sum) would exceed `counterMax` (2^63−1)         |
 * | `insufficient_funds`                   | transfer   | debit account has `debitsMustNotExceedCredits` and debitsPending + debitsPosted + amount > creditsPosted |
 * | `exceeds_debits`                       | transfer   | credit account has `creditsMustNotExceedDebits` and creditsPending + creditsPosted + amount > debitsPosted |
 * | `pending_transfer_not_found`           | transfer   | the post/void names a transfer id that does not exist                                       |
 * | `pending_transfer_not_pending`         | transfer   | the post/void names a transfer that was not created with `pending: true`                    |
 * | `pending_already_resolved`             | transfer   | the pending transfer was already posted or voided                                           |
 * | `pending_transfer_expired`             | transfer   | the pending transfer expired (by event, or `metadata.now` ≥ its `timeoutAt`)                |
 * | `debit_account_id_must_match_pending`  | transfer   | a post/void gave `debitAccountId` different from the pending transfer's                     |
 * | `credit_account_id_must_match_pending` | transfer   | a post/void gave `creditAccountId` different from the pending transfer's                    |
 * | `ledger_must_match_pending`            | transfer   | a post/void gave `ledger` different from the pending transfer's                             |
 * | `code_must_match_pending`              | transfer   | a post/void gave `code` different from the pending transfer's                               |
 * | `exceeds_pending_transfer_amount`      | transfer   | a post's `amount` is greater than the pending amount                                        |
 * | `pending_transfer_has_different_amount`| transfer   | a void gave an `amount` other than the pending amount                                       |
 *
 * Idempotency (as in TigerBeetle): only successful items are recorded. An item rejected with
 * any of the codes above leaves no trace, so the same id may be retried later and is evaluated
 * afresh against the state at that time. An id that was created earlier answers `exists` when
 * the retried body is the same, and `exists_with_different_fields` otherwise.
 */
export const ledgerErrorCodes = [
  'flags_are_mutually_exclusive',
  'exists_with_different_fields',
  'linked_event_failed',
  'linked_event_chain_open',
  'debit_account_id_required',
  'credit_account_id_required',
  'amount_required',
  'ledger_required',
  'code_required',
  'accounts_must_be_different',
  'pending_id_must_be_different',
  'timeout_reserved_for_pending_transfer',
  'account_not_found',
  'accounts_must_have_the_same_ledger',
  'ledger_mismatch',
  'overflows_debits',
  'overflows_credits',
  'insufficient_funds',
  'exceeds_debits',
  'pending_transfer_not_found',
  'pending_transfer_not_pending',
  'pending_already_resolved',
  'pending_transfer_expired',
  'debit_account_id_must_match_pending',
  'credit_account_id_must_match_pending',
  'ledger_must_match_pending',
  'code_must_match_pending',
  'exceeds_pending_transfer_amount',
  'pending_transfer_has_different_amount',
] as const;

export type LedgerErrorCode = (typeof ledgerErrorCodes)[number];

/** Per-item outcome: `created`, `exists` (idempotent retry of a created id), or an error code. */
export type ItemStatus = 'created' | 'exists' | LedgerErrorCode;

export interface ItemResult {
  readonly id: string;
  readonly status: ItemStatus;
}

const errorCodeSet: ReadonlySet<string> = new Set(ledgerErrorCodes);

export function isLedgerErrorCode(value: string): value is LedgerErrorCode {
  return errorCodeSet.has(value);
}
