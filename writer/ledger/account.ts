/**
 * An account as the ledger keeps it (DESIGN.md §3). Read-only to everyone but the state that
 * owns the record: `evolve` updates the counters of a record in place in the state that owns
 * it (an overlay copies a parent's record first), so copy what you need to keep across evolves.
 */
export interface AccountFlags {
  readonly debitsMustNotExceedCredits: boolean;
  readonly creditsMustNotExceedDebits: boolean;
}

export interface Account {
  readonly id: string;
  readonly ledger: number;
  readonly code: number;
  readonly flags: AccountFlags;
  readonly userData: string | undefined;
  readonly debitsPending: bigint;
  readonly debitsPosted: bigint;
  readonly creditsPending: bigint;
  readonly creditsPosted: bigint;
}

/** What a client sends to create an account (shape already validated by the HTTP layer). */
export interface AccountInput {
  readonly id: string;
  readonly ledger: number;
  readonly code: number;
  readonly flags?: {
    readonly debitsMustNotExceedCredits?: boolean;
    readonly creditsMustNotExceedDebits?: boolean;
  };
  readonly userData?: string;
}

export const noAccountFlags: AccountFlags = Object.freeze({
  debitsMustNotExceedCredits: false,
  creditsMustNotExceedDebits: false,
});

/** Credit-normal balance: creditsPosted − debitsPosted. */
export function accountBalance(account: Account): bigint {
  return account.creditsPosted - account.debitsPosted;
}

/** A copy of `account` with new counters (an overlay's first write to a parent's record). */
export function accountWithCounters(
  account: Account,
  debitsPending: bigint,
  debitsPosted: bigint,
  creditsPending: bigint,
  creditsPosted: bigint,
): Account {
  return {
    id: account.id,
    ledger: account.ledger,
    code: account.code,
    flags: account.flags,
    userData: account.userData,
    debitsPending,
    debitsPosted,
    creditsPending,
    creditsPosted,
  };
}

/** Writable view of a record, for the state that owns it. */
export type OwnedAccount = { -readonly [Field in keyof Account]: Account[Field] };
