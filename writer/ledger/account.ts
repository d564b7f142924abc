/** An account as the ledger keeps it (DESIGN.md §3). Records are immutable: evolve replaces them. */
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
