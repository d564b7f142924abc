import { describe, expect, it } from 'vitest';
import { encodeEnvelope, type EnvelopeInput } from '../common/events/envelope.ts';
import type { LedgerEvent } from '../writer/ledger/index.ts';
import { foldBatch, foldSteps, type AccountRow, type ExistingTransfer } from './batch-fold.ts';
import type { PositionedEnvelope } from './batch-selection.ts';
import { runInSlices } from './work-slices.ts';

const occurredAtMs = Date.UTC(2026, 0, 1, 12);
function positioned(seq: number, event: LedgerEvent): PositionedEnvelope {
  const input: EnvelopeInput = { shard: 0, seq, raftIndex: seq, raftTerm: 1, commandId: `c${seq}`, eventIndex: 0, occurredAtMs, event };
  return { envelope: encodeEnvelope(input), offset: String(seq - 1) };
}
const account = (id: string, creditsPosted: bigint): AccountRow => ({
  id, shard: 0, ledger: 1, code: 1, debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false, userData: null,
  debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted, createdSeq: 1, createdAt: '2026-01-01T00:00:00.000Z', seq: 1, updatedAt: '2026-01-01T00:00:00.000Z',
});

describe('foldBatch', () => {
  it('posts a pending transfer of an earlier batch: counters, status change, entries, daily totals', () => {
    const loaded = {
      accounts: new Map([['a', { ...account('a', 0n), debitsPending: 30n }], ['b', { ...account('b', 5n), creditsPending: 30n }]]),
      transfers: new Map<string, ExistingTransfer>([['p', { id: 'p', kind: 'pending', status: 'pending', debitAccountId: 'a', creditAccountId: 'b', amount: 30n, ledger: 1 }]]),
    };
    const fold = foldBatch([positioned(9, { type: 'PendingTransferPosted', data: { id: 'q', pendingId: 'p', amount: 20n, pendingAmount: 30n, debitAccountId: 'a', creditAccountId: 'b', ledger: 1, code: 1, userData: undefined } })], loaded);
    expect(fold.stop).toBeUndefined();
    expect(fold.accounts.map((row) => [row.id, row.debitsPending, row.debitsPosted, row.creditsPending, row.creditsPosted, row.seq])).toEqual([['a', 0n, 20n, 0n, 0n, 9], ['b', 0n, 0n, 0n, 25n, 9]]);
    expect(fold.statusChanges).toEqual([{ id: 'p', status: 'posted', resolvedBy: 'q', statusSeq: 9, statusChangedAt: '2026-01-01T12:00:00.000Z' }]);
    expect(fold.newTransfers.map((row) => [row.id, row.kind, row.status, row.pendingId, row.amount, row.pendingAmount])).toEqual([['q', 'post_pending', 'posted', 'p', 20n, 30n]]);
    expect(fold.entries.map((row) => [row.accountId, row.direction, row.pendingChange, row.postedChange, row.balanceAfter])).toEqual([['a', 'debit', -30n, 20n, -20n], ['b', 'credit', -30n, 20n, 25n]]);
    expect(fold.dailyTotals.map((row) => [row.accountId, row.day, row.debits, row.credits, row.closingBalance])).toEqual([['a', '2026-01-01', 20n, 0n, -20n], ['b', '2026-01-01', 0n, 20n, 25n]]);
    expect(loaded.accounts.get('a')?.debitsPending).toBe(30n);
  });

  it('stops at the first event it cannot apply and keeps only the prefix', () => {
    const loaded = { accounts: new Map([['a', account('a', 0n)], ['b', account('b', 0n)]]), transfers: new Map<string, ExistingTransfer>() };
    const transfer = (seq: number, id: string): PositionedEnvelope => positioned(seq, { type: 'TransferCreated', data: { id, debitAccountId: 'a', creditAccountId: 'b', amount: 7n, ledger: 1, code: 1, userData: undefined, pending: false, timeoutSeconds: 0, timeoutAt: undefined } });
    const fold = foldBatch([transfer(2, 'x'), transfer(3, 'x'), transfer(4, 'y')], loaded);
    expect(fold.applied.map((item) => item.envelope.seq)).toEqual([2]);
    expect(fold.stop?.reason).toBe('transfer x already exists');
    expect(fold.accounts.map((row) => [row.id, row.debitsPosted, row.creditsPosted])).toEqual([['a', 7n, 0n], ['b', 0n, 7n]]);
    expect(fold.entries).toHaveLength(2);
  });

  it('folded a slice at a time, gives the event loop turns and the same fold as in one go, stop included', async () => {
    const loaded = { accounts: new Map([['a', account('a', 100n)], ['b', account('b', 0n)]]), transfers: new Map<string, ExistingTransfer>() };
    const transfer = (seq: number, id: string): PositionedEnvelope => positioned(seq, { type: 'TransferCreated', data: { id, debitAccountId: 'a', creditAccountId: 'b', amount: BigInt(seq), ledger: 1, code: 1, userData: undefined, pending: false, timeoutSeconds: 0, timeoutAt: undefined } });
    const envelopes = Array.from({ length: 50 }, (_, index) => transfer(index + 2, `t${index}`));
    for (const batch of [envelopes, [...envelopes.slice(0, 30), transfer(32, 't3'), ...envelopes.slice(31)]]) {
      // Another task that wants the event loop: it gets a turn between slices.
      let turns = 0;
      let ticking = true;
      const tick = (): void => {
        turns += 1;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      const sliced = await runInSlices(foldSteps(batch, loaded, 3));
      ticking = false;
      expect(sliced).toEqual(foldBatch(batch, loaded));
      expect(turns).toBeGreaterThanOrEqual(Math.floor(sliced.applied.length / 3));
    }
    expect((await runInSlices(foldSteps(envelopes, loaded, 3))).stop).toBeUndefined();
  });
});
