import { describe, expect, it } from 'vitest';
import { checkLinearizability, type Operation } from './checker.ts';
import { ledgerBalancesModel, type LedgerInput, type LedgerOutput } from './models/ledger-balances.ts';

type LedgerOperation = Operation<LedgerInput, LedgerOutput>;

const transferInput = (id: string, amount: bigint): LedgerInput =>
  ({ op: 'transfer', id, debitAccountId: 'alice', creditAccountId: 'bob', amount });
const transfer = (clientId: number, id: string, amount: bigint, status: string, call: number, returned: number): LedgerOperation =>
  ({ clientId, input: transferInput(id, amount), output: { status }, call, return: returned });
const transferUnknown = (clientId: number, id: string, amount: bigint, call: number): LedgerOperation =>
  ({ clientId, input: transferInput(id, amount), output: undefined, call, return: Infinity });
const read = (clientId: number, accountId: string, debitsPosted: bigint, creditsPosted: bigint, call: number, returned: number): LedgerOperation =>
  ({ clientId, input: { op: 'read', accountId }, output: { debitsPosted, creditsPosted }, call, return: returned });

const outcomeOf = (history: LedgerOperation[]): string => checkLinearizability(ledgerBalancesModel, history).outcome;

describe('ledger balances model', () => {
  it('accepts reads that reflect a created transfer on both accounts', () => {
    expect(outcomeOf([
      transfer(0, 't1', 100n, 'created', 0, 1),
      read(1, 'alice', 100n, 0n, 2, 3),
      read(1, 'bob', 0n, 100n, 4, 5),
    ])).toBe('ok');
  });

  it('rejects a stale read after a completed transfer', () => {
    const history = [transfer(0, 't1', 100n, 'created', 0, 1), read(1, 'bob', 0n, 0n, 2, 3)];
    const result = checkLinearizability(ledgerBalancesModel, history);
    expect(result.outcome).toBe('illegal');
    if (result.outcome !== 'illegal') return;
    expect(result.longestPrefix).toEqual([history[0]]);
    expect(result.explanation).toContain('read bob -> debitsPosted 0, creditsPosted 0: rejected by the model here');
  });

  it('lets a read concurrent with a transfer see either balance', () => {
    expect(outcomeOf([transfer(0, 't1', 5n, 'created', 0, 10), read(1, 'bob', 0n, 0n, 1, 2)])).toBe('ok');
    expect(outcomeOf([transfer(0, 't1', 5n, 'created', 0, 10), read(1, 'bob', 0n, 5n, 1, 2)])).toBe('ok');
    expect(outcomeOf([transfer(0, 't1', 5n, 'created', 0, 10), read(1, 'bob', 0n, 3n, 1, 2)])).toBe('illegal');
  });

  it('applies a transfer id at most once: created twice is illegal, created then exists is not', () => {
    expect(outcomeOf([transfer(0, 't1', 5n, 'created', 0, 1), transfer(1, 't1', 5n, 'created', 2, 3)])).toBe('illegal');
    expect(outcomeOf([
      transfer(0, 't1', 5n, 'created', 0, 1),
      transfer(1, 't1', 5n, 'exists', 2, 3),
      read(1, 'alice', 5n, 0n, 4, 5),
    ])).toBe('ok');
  });

  it('treats exists as the transfer having taken effect by then', () => {
    expect(outcomeOf([transfer(0, 't1', 5n, 'exists', 0, 1), read(1, 'bob', 0n, 5n, 2, 3)])).toBe('ok');
    expect(outcomeOf([transfer(0, 't1', 5n, 'exists', 0, 1), read(1, 'bob', 0n, 0n, 2, 3)])).toBe('illegal');
  });

  it('gives a rejected transfer no effect', () => {
    expect(outcomeOf([transfer(0, 't1', 5n, 'insufficient_funds', 0, 1), read(1, 'alice', 0n, 0n, 2, 3)])).toBe('ok');
    expect(outcomeOf([transfer(0, 't1', 5n, 'insufficient_funds', 0, 1), read(1, 'alice', 5n, 0n, 2, 3)])).toBe('illegal');
  });

  it('never accepts a not-found read: accounts exist from the start', () => {
    const history: LedgerOperation[] = [{ clientId: 0, input: { op: 'read', accountId: 'alice' }, output: { notFound: true }, call: 0, return: 1 }];
    expect(outcomeOf(history)).toBe('illegal');
  });

  it('lets a timed-out transfer appear or not, but once seen later reads must not go back', () => {
    expect(outcomeOf([transferUnknown(0, 't1', 5n, 0), read(1, 'bob', 0n, 0n, 2, 3)])).toBe('ok');
    expect(outcomeOf([transferUnknown(0, 't1', 5n, 0), read(1, 'bob', 0n, 5n, 2, 3)])).toBe('ok');
    expect(outcomeOf([transferUnknown(0, 't1', 5n, 0), read(1, 'bob', 0n, 5n, 2, 3), read(2, 'bob', 0n, 0n, 4, 5)])).toBe('illegal');
  });

  it('lets a retry after a timeout answer exists without the balance moving twice', () => {
    expect(outcomeOf([
      transferUnknown(0, 't1', 5n, 0),
      transfer(0, 't1', 5n, 'exists', 2, 3),
      read(1, 'alice', 5n, 0n, 4, 5),
    ])).toBe('ok');
    expect(outcomeOf([
      transferUnknown(0, 't1', 5n, 0),
      transfer(0, 't1', 5n, 'exists', 2, 3),
      read(1, 'alice', 10n, 0n, 4, 5),
    ])).toBe('illegal');
  });
});
