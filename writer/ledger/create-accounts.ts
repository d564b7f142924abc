import type { Account, AccountInput } from './account.ts';
import type { CreateAccounts } from './commands.ts';
import type { ItemResult, ItemStatus } from './error-codes.ts';
import { evolve } from './evolve.ts';
import type { AccountCreated, LedgerEvent } from './events.ts';
import type { LedgerState } from './ledger-state.ts';

/** Decides each account in order, evolving `scratch` as it goes so later items see earlier ones. */
export function decideCreateAccounts(command: CreateAccounts, scratch: LedgerState): { events: LedgerEvent[]; results: ItemResult[] } {
  const events: LedgerEvent[] = [];
  const results: ItemResult[] = [];
  for (const input of command.data.accounts) {
    const decision = decideAccount(input, scratch);
    if (typeof decision === 'string') {
      results.push({ id: input.id, status: decision });
    } else {
      evolve(scratch, decision);
      events.push(decision);
      results.push({ id: input.id, status: 'created' });
    }
  }
  return { events, results };
}

function decideAccount(input: AccountInput, state: LedgerState): AccountCreated | Exclude<ItemStatus, 'created'> {
  const debitsMustNotExceedCredits = input.flags?.debitsMustNotExceedCredits === true;
  const creditsMustNotExceedDebits = input.flags?.creditsMustNotExceedDebits === true;
  if (debitsMustNotExceedCredits && creditsMustNotExceedDebits) return 'flags_are_mutually_exclusive';
  const existing = state.account(input.id);
  if (existing !== undefined) {
    return sameAccountFields(existing, input, debitsMustNotExceedCredits, creditsMustNotExceedDebits)
      ? 'exists'
      : 'exists_with_different_fields';
  }
  return {
    type: 'AccountCreated',
    data: {
      id: input.id,
      ledger: input.ledger,
      code: input.code,
      flags: { debitsMustNotExceedCredits, creditsMustNotExceedDebits },
      userData: input.userData,
    },
  };
}

function sameAccountFields(
  existing: Account,
  input: AccountInput,
  debitsMustNotExceedCredits: boolean,
  creditsMustNotExceedDebits: boolean,
): boolean {
  return (
    existing.ledger === input.ledger &&
    existing.code === input.code &&
    existing.userData === input.userData &&
    existing.flags.debitsMustNotExceedCredits === debitsMustNotExceedCredits &&
    existing.flags.creditsMustNotExceedDebits === creditsMustNotExceedDebits
  );
}
