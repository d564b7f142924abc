/** Named upper bounds of the ledger Decider (TIGER_STYLE: every batch and loop is bounded). */

/** Items (accounts or transfers) per command; the HTTP contract says 1..8190. */
export const batchItemsMax = 8190;

/** `PendingTransferExpired` events one `ExpirePendingTransfers` command may emit. */
export const expiriesPerCommandMax = 8190;

/** Largest transfer amount: 2^63−1, so every amount fits a Postgres `bigint`. */
export const amountMax = (1n << 63n) - 1n;

/**
 * Largest value of any of the four account counters, and of debitsPending + debitsPosted and
 * creditsPending + creditsPosted: 2^63−1, so the read side can keep every counter in a Postgres
 * `bigint` (TigerBeetle uses u128; we chose the narrower, SQL-friendly bound).
 */
export const counterMax = (1n << 63n) - 1n;

/** Largest `timeoutSeconds` (TigerBeetle's u32): keeps `now + timeout` a safe integer of ms. */
export const timeoutSecondsMax = 2 ** 32 - 1;

/** Id length bounds and charset (DESIGN.md §3). */
export const idLengthMax = 64;
export const idPattern = /^[A-Za-z0-9._:-]{1,64}$/;

/** Longest `userData` string. */
export const userDataLengthMax = 128;

/** Largest `ledger` and `code` numbers (unsigned 32-bit, as in TigerBeetle). */
export const ledgerMax = 2 ** 32 - 1;
export const codeMax = 2 ** 32 - 1;
