/**
 * Test support (not production code): given/when/then for the ledger Decider, and builders.
 *
 *   given(accountCreated('alice'), …).when(createTransfers({ … })).then(transferCreated(…))
 *   given(…).when(createTransfers({ … })).thenRejects('insufficient_funds')
 *
 * Every `when` also checks that `decide` left the given state untouched, that `decideAndEvolve`
 * on an overlay agrees with `decide`, and that the resulting state passes `checkInvariants`.
 */
import { expect } from 'vitest';
import type { AccountInput } from './account.ts';
import type { CommandRejectionCode } from './command-rejection.ts';
import type { CreateAccounts, CreateTransfers, ExpirePendingTransfers, LedgerCommand } from './commands.ts';
import { decide, decideAndEvolve, type DecideOutcome } from './decide.ts';
import type { ItemStatus, LedgerErrorCode } from './error-codes.ts';
import { evolve } from './evolve.ts';
import type { AccountCreated, LedgerEvent, PendingResolutionData, TransferCreated } from './events.ts';
import { checkInvariants } from './invariants.ts';
import { initialState, type CommittedLedgerState } from './ledger-state.ts';
import { fork } from './speculative-state.ts';
import { stateDigest } from './state-digest.ts';
import type { TransferInput } from './transfer.ts';

export const testNow = 1_700_000_000_000;

export function stateOf(events: readonly LedgerEvent[]): CommittedLedgerState {
  return events.reduce(evolve, initialState());
}

export interface Outcome {
  /** State after the accepted events were applied (the given state if rejected). */
  readonly state: CommittedLedgerState;
  readonly outcome: DecideOutcome;
  readonly events: readonly LedgerEvent[];
  readonly statuses: readonly ItemStatus[];
  /** Expects exactly these events. */
  then(...expected: LedgerEvent[]): Outcome;
  /** Expects these per-item statuses, in order. */
  thenStatuses(...expected: ItemStatus[]): Outcome;
  /** Expects no events and the (only, or first failing) item to report `code`. */
  thenRejects(code: LedgerErrorCode): Outcome;
  /** Expects the whole command to be refused with `code`. */
  thenRejectsCommand(code: CommandRejectionCode): Outcome;
}

export function given(...events: LedgerEvent[]): { when(command: LedgerCommand): Outcome } {
  return {
    when(command: LedgerCommand): Outcome {
      const state = stateOf(events);
      const digestBefore = stateDigest(state);
      const outcome = decide(command, state);
      expect(stateDigest(state), 'decide must not write the given state').toBe(digestBefore);
      const overlay = fork(state);
      const fused = decideAndEvolve(command, overlay);
      expect(fused, 'decideAndEvolve must agree with decide').toEqual(outcome);
      const decidedEvents = outcome.type === 'accepted' ? outcome.events : [];
      for (const event of decidedEvents) evolve(state, event);
      expect(stateDigest(overlay), 'the overlay must show what applying the events gives').toBe(stateDigest(state));
      expect(checkInvariants(state)).toEqual([]);
      const statuses = outcome.type === 'accepted' ? outcome.results.map((result) => result.status) : [];
      const result: Outcome = {
        state,
        outcome,
        events: decidedEvents,
        statuses,
        then(...expected) {
          expect(outcome.type).toBe('accepted');
          expect(decidedEvents).toEqual(expected);
          return result;
        },
        thenStatuses(...expected) {
          expect(outcome.type).toBe('accepted');
          expect(statuses).toEqual(expected);
          return result;
        },
        thenRejects(code) {
          expect(outcome.type).toBe('accepted');
          expect(decidedEvents).toEqual([]);
          expect(statuses.find((status) => status !== 'linked_event_failed')).toBe(code);
          return result;
        },
        thenRejectsCommand(code) {
          expect(outcome.type).toBe('rejected');
          if (outcome.type === 'rejected') expect(outcome.rejection.code).toBe(code);
          return result;
        },
      };
      return result;
    },
  };
}

export function createAccounts(...accounts: AccountInput[]): CreateAccounts {
  return { type: 'CreateAccounts', data: { accounts }, metadata: { now: testNow, commandId: 'command-accounts' } };
}

export function createTransfers(...transfers: TransferInput[]): CreateTransfers {
  return createTransfersAt(testNow, ...transfers);
}

export function createTransfersAt(now: number, ...transfers: TransferInput[]): CreateTransfers {
  return { type: 'CreateTransfers', data: { transfers }, metadata: { now, commandId: 'command-transfers' } };
}

export function expirePendingTransfers(now: number): ExpirePendingTransfers {
  return { type: 'ExpirePendingTransfers', data: { now }, metadata: { now, commandId: 'command-expire' } };
}

export function accountCreated(
  id: string,
  options: { ledger?: number; code?: number; debitsMustNotExceedCredits?: boolean; creditsMustNotExceedDebits?: boolean; userData?: string } = {},
): AccountCreated {
  return {
    type: 'AccountCreated',
    data: {
      id,
      ledger: options.ledger ?? 1,
      code: options.code ?? 10,
      flags: {
        debitsMustNotExceedCredits: options.debitsMustNotExceedCredits ?? false,
        creditsMustNotExceedDebits: options.creditsMustNotExceedDebits ?? false,
      },
      userData: options.userData,
    },
  };
}

export function transferCreated(
  id: string,
  debitAccountId: string,
  creditAccountId: string,
  amount: bigint,
  options: { ledger?: number; code?: number; userData?: string; pending?: boolean; timeoutSeconds?: number; createdAt?: number } = {},
): TransferCreated {
  const pending = options.pending ?? false;
  const timeoutSeconds = options.timeoutSeconds ?? 0;
  return {
    type: 'TransferCreated',
    data: {
      id,
      debitAccountId,
      creditAccountId,
      amount,
      ledger: options.ledger ?? 1,
      code: options.code ?? 1,
      userData: options.userData,
      pending,
      timeoutSeconds,
      timeoutAt: pending && timeoutSeconds > 0 ? (options.createdAt ?? testNow) + timeoutSeconds * 1000 : undefined,
    },
  };
}

/** Resolution data for a post/void of `pending` (a TransferCreated with pending: true). */
export function resolutionOf(id: string, pending: TransferCreated, amount: bigint, userData?: string): PendingResolutionData {
  return {
    id,
    pendingId: pending.data.id,
    amount,
    pendingAmount: pending.data.amount,
    debitAccountId: pending.data.debitAccountId,
    creditAccountId: pending.data.creditAccountId,
    ledger: pending.data.ledger,
    code: pending.data.code,
    userData,
  };
}

export function pendingPosted(id: string, pending: TransferCreated, amount: bigint = pending.data.amount): LedgerEvent {
  return { type: 'PendingTransferPosted', data: resolutionOf(id, pending, amount) };
}

export function pendingVoided(id: string, pending: TransferCreated): LedgerEvent {
  return { type: 'PendingTransferVoided', data: resolutionOf(id, pending, pending.data.amount) };
}

export function pendingExpired(pending: TransferCreated, expiredAt: number): LedgerEvent {
  return {
    type: 'PendingTransferExpired',
    data: {
      pendingId: pending.data.id,
      amount: pending.data.amount,
      debitAccountId: pending.data.debitAccountId,
      creditAccountId: pending.data.creditAccountId,
      ledger: pending.data.ledger,
      code: pending.data.code,
      expiredAt,
    },
  };
}
