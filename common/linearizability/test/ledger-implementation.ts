import fc from 'fast-check';
import type { LedgerInput, LedgerOutput } from '../models/ledger-balances.ts';
import type { SequentialImplementation } from './simulated-history.ts';

export const ledgerAccountIds = ['alice', 'bob', 'carol'];
export const transferIdCount = 12;

interface LedgerImplementationState {
  readonly debits: ReadonlyMap<string, bigint>;
  readonly credits: ReadonlyMap<string, bigint>;
  readonly created: ReadonlySet<string>;
}

/** The transfer with id number `number`: accounts and amount are fixed by the id, as in a real retry. */
export function transferNumbered(number: number): Extract<LedgerInput, { op: 'transfer' }> {
  return {
    op: 'transfer',
    id: `t-${number}`,
    debitAccountId: ledgerAccountIds[number % 3] ?? 'alice',
    creditAccountId: ledgerAccountIds[(number + 1) % 3] ?? 'bob',
    amount: BigInt(number * 7 + 1),
  };
}

/** Transfers numbered 4, 9, … are rejected, as a balance limit would. */
const isRejected = (id: string): boolean => Number(id.slice(2)) % 5 === 4;

/** A straightforward in-memory ledger with idempotent transfer ids: what the ledger model specifies. */
export const ledgerImplementation: SequentialImplementation<LedgerImplementationState, LedgerInput, LedgerOutput> = {
  init: () => ({ debits: new Map(), credits: new Map(), created: new Set() }),
  apply(state, input) {
    switch (input.op) {
      case 'transfer': {
        if (state.created.has(input.id)) return { state, output: { status: 'exists' } };
        if (isRejected(input.id)) return { state, output: { status: 'insufficient_funds' } };
        const debits = new Map(state.debits);
        debits.set(input.debitAccountId, (debits.get(input.debitAccountId) ?? 0n) + input.amount);
        const credits = new Map(state.credits);
        credits.set(input.creditAccountId, (credits.get(input.creditAccountId) ?? 0n) + input.amount);
        return { state: { debits, credits, created: new Set([...state.created, input.id]) }, output: { status: 'created' } };
      }
      case 'read':
        return {
          state,
          output: {
            debitsPosted: state.debits.get(input.accountId) ?? 0n,
            creditsPosted: state.credits.get(input.accountId) ?? 0n,
          },
        };
      default: {
        const _exhaustive: never = input;
        return _exhaustive;
      }
    }
  },
};

export const ledgerInputArbitrary: fc.Arbitrary<LedgerInput> = fc.oneof(
  fc.nat(transferIdCount - 1).map(transferNumbered),
  fc.record({ op: fc.constant('read' as const), accountId: fc.constantFrom(...ledgerAccountIds) }),
);
