import { findCommandRejection, type CommandRejection } from './command-rejection.ts';
import type { LedgerCommand } from './commands.ts';
import { decideCreateAccounts } from './create-accounts.ts';
import { decideCreateTransfers } from './create-transfers.ts';
import type { ItemResult } from './error-codes.ts';
import { evolve } from './evolve.ts';
import type { LedgerEvent } from './events.ts';
import { decideExpirePendingTransfers } from './expire-pending-transfers.ts';
import type { LedgerState } from './ledger-state.ts';
import { fork } from './speculative-state.ts';

export type DecideOutcome =
  | { readonly type: 'accepted'; readonly events: LedgerEvent[]; readonly results: ItemResult[] }
  | { readonly type: 'rejected'; readonly rejection: CommandRejection };

/**
 * The ledger Decider: turns a command into the events to append to the log, plus one result per
 * item (DESIGN.md §3–4). Pure and deterministic: time and ids come in on the command, and
 * `state` is only read (the batch's own effects go to a scratch overlay, then dropped). Apply
 * the events with `evolve` afterwards — every node to its committed store.
 */
export function decide(command: LedgerCommand, state: LedgerState): DecideOutcome {
  return decideAndEvolve(command, fork(state));
}

/**
 * `decide`, and `state` has been evolved with the accepted events when it returns (a rejected
 * command leaves it untouched) — the leader's hot path: it decides straight on its speculative
 * overlay instead of deciding on a scratch copy and evolving the overlay a second time.
 * `decide(command, state)` is exactly `decideAndEvolve(command, fork(state))`.
 */
export function decideAndEvolve(command: LedgerCommand, state: LedgerState): DecideOutcome {
  const rejection = findCommandRejection(command);
  if (rejection !== undefined) return { type: 'rejected', rejection };
  switch (command.type) {
    case 'CreateAccounts':
      return { type: 'accepted', ...decideCreateAccounts(command, state) };
    case 'CreateTransfers':
      return { type: 'accepted', ...decideCreateTransfers(command, state) };
    case 'ExpirePendingTransfers': {
      const events = decideExpirePendingTransfers(command, state);
      for (const event of events) evolve(state, event);
      return { type: 'accepted', events, results: [] };
    }
    default: {
      const _exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
}
