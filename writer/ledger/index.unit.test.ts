import { describe, expect, it } from 'vitest';
import * as ledger from './index.ts';

describe('public API of writer/ledger', () => {
  it('exports the Decider, the states, the queries and the codecs', () => {
    const functions = [
      'decide', 'decideAndEvolve', 'evolve', 'initialState', 'fork', 'createSpeculativeState',
      'nextExpiryDue', 'dueExpiries', 'encodeEvent', 'decodeEvent', 'encodeSnapshot', 'decodeSnapshot',
      'stateDigest', 'checkInvariants', 'accountBalance', 'isLedgerErrorCode',
    ] as const;
    for (const name of functions) expect(typeof ledger[name], name).toBe('function');
    expect(ledger.batchItemsMax).toBe(8190);
    expect(ledger.ledgerErrorCodes).toContain('insufficient_funds');
  });

  it('runs a deposit end to end through the public API', () => {
    const state = ledger.initialState();
    const metadata = { now: 1_000, commandId: 'c-1' };
    for (const command of [
      { type: 'CreateAccounts' as const, data: { accounts: [{ id: 'operator', ledger: 1, code: 1 }, { id: 'alice', ledger: 1, code: 2 }] }, metadata },
      { type: 'CreateTransfers' as const, data: { transfers: [{ id: 'd-1', debitAccountId: 'operator', creditAccountId: 'alice', amount: 250n, ledger: 1, code: 1 }] }, metadata },
    ]) {
      const outcome = ledger.decide(command, state);
      if (outcome.type !== 'accepted') throw new Error('rejected');
      for (const event of outcome.events) ledger.evolve(state, event);
    }
    const alice = state.account('alice');
    expect(alice && ledger.accountBalance(alice)).toBe(250n);
    expect(state.lastSeq).toBe(3);
  });
});
