import { findCommandRejection, type CommandRejection } from './command-rejection.ts';
import type { LedgerCommand } from './commands.ts';
import { decideCreateAccounts } from './create-accounts.ts';
import { decideCreateTransfers } from './create-transfers.ts';
import type { ItemResult } from './error-codes.ts';
import type { LedgerEvent } from './events.ts';
import { decideExpirePendingTransfers } from './expire-pending-transfers.ts';
import type { LedgerState } from './ledger-state.ts';

export type DecideOutcome =
  | { readonly type: 'accepted'; readonly events: LedgerEvent[]; readonly results: ItemResult[] }
  | { readonly type: 'rejected'; readonly rejection: CommandRejection };

/**
 * The ledger Decider: turns a command into the events to append to the log, plus one result per
 * item (DESIGN.md §3–4). Pure and deterministic: time and ids come in on the command, and
 * `state` is only read (scratch overlays hold the batch's own effects). Apply the events with
 * `evolve` afterwards — the leader to its speculative state, every node to its committed store.
 */
export function decide(command: LedgerCommand, state: LedgerState): DecideOutcome {
  const rejection = findCommandRejection(command);
  if (rejection !== undefined) return { type: 'rejected', rejection };
  switch (command.type) {
    case 'CreateAccounts':
      return { type: 'accepted', ...decideCreateAccounts(command, state) };
    case 'CreateTransfers':
      return { type: 'accepted', ...decideCreateTransfers(command, state) };
    case 'ExpirePendingTransfers':
      return { type: 'accepted', events: decideExpirePendingTransfers(command, state), results: [] };
    default: {
      const _exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
}
