import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { amountMax, codeMax, ledgerMax, timeoutSecondsMax } from './limits.ts';
import type { PendingStatus, Transfer, TransferKind } from './transfer.ts';
import { TransferTable } from './transfer-table.ts';

// Ids outside what the decider accepts too: one byte per character ('ü'), wider ('€'), empty, long.
const ids = fc.constantFrom('t-0', 't-1', 't-2', 't-3', 't-4', 't-5', 't-6', 't-7', 'ü-8', '€-9', '', 'l'.repeat(300));
const accountIds = fc.constantFrom('bank', 'alice', 'bob', 'carol', 'x'.repeat(64));

/** Any record the table may hold, including field combinations evolve never writes. */
const transferRecord = (id: fc.Arbitrary<string>): fc.Arbitrary<Transfer> => fc.record({
  id,
  kind: fc.constantFrom<TransferKind>('single_phase', 'pending', 'post_pending', 'void_pending'),
  debitAccountId: accountIds,
  creditAccountId: accountIds,
  amount: fc.bigInt({ min: 1n, max: amountMax }),
  ledger: fc.integer({ min: 1, max: ledgerMax }),
  code: fc.integer({ min: 1, max: codeMax }),
  userData: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
  timeoutSeconds: fc.integer({ min: 0, max: timeoutSecondsMax }),
  timeoutAt: fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { nil: undefined }),
  pendingStatus: fc.constantFrom<PendingStatus | undefined>(undefined, 'pending', 'posted', 'voided', 'expired'),
  resolvedBy: fc.option(ids, { nil: undefined }),
  pendingId: fc.option(ids, { nil: undefined }),
});

describe('TransferTable', () => {
  it('gives back every record as written, by id and by slot in insertion order, through appends and replacements', () => {
    fc.assert(
      fc.property(fc.array(transferRecord(ids), { maxLength: 40 }), (writes) => {
        const table = new TransferTable();
        const model = new Map<string, Transfer>();
        for (const transfer of writes) {
          const slot = table.slotOf(transfer.id);
          if (slot === undefined) {
            expect(table.append(transfer)).toBe(true);
          } else {
            expect(table.append(transfer)).toBe(false); // taken: nothing written
            table.replace(slot, transfer);
          }
          model.set(transfer.id, transfer);
        }
        expect(table.size).toBe(model.size);
        for (const [id, transfer] of model) expect(table.get(id)).toEqual(transfer);
        expect([...table.range(0, table.size)]).toEqual([...model.values()]); // a Map iterates in insertion order
        expect(table.get('absent')).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('keeps records across block boundaries and reads any range of slots', () => {
    const table = new TransferTable();
    const count = 70_000; // more than one block of 65,536 slots
    const record = (index: number): Transfer => ({
      id: `t-${index}`, kind: index % 2 === 0 ? 'single_phase' : 'post_pending', debitAccountId: `a-${index % 7}`, creditAccountId: `a-${(index + 1) % 7}`,
      amount: BigInt(index + 1) * 1_000_000_007n, ledger: 1 + (index % 3), code: index, userData: index % 1000 === 0 ? `u${index}` : undefined,
      timeoutSeconds: 0, timeoutAt: undefined, pendingStatus: undefined, resolvedBy: undefined, pendingId: index % 2 === 0 ? undefined : `t-${index - 1}`,
    });
    for (let index = 0; index < count; index += 1) expect(table.append(record(index))).toBe(true);
    for (const index of [0, 1, 65_535, 65_536, 65_537, count - 1]) {
      expect(table.at(index)).toEqual(record(index));
      expect(table.get(`t-${index}`)).toEqual(record(index));
    }
    expect([...table.range(65_530, 10)]).toEqual(Array.from({ length: 10 }, (_, offset) => record(65_530 + offset)));
    expect(() => table.at(count)).toThrow(/no transfer in slot/);
    expect(() => [...table.range(count - 1, 2)]).toThrow(/not all taken/);
  });

  it('keeps ids of every length in its arena across blocks, and finds each again', () => {
    const table = new TransferTable();
    const count = 140_000; // over two blocks of 65,536 slots, each id 40-64 characters: the arenas grow
    const idOf = (index: number) => `${String(index).padStart(8, '0')}-${'x'.repeat(32 + (index % 25))}`;
    const record = (index: number): Transfer => ({
      id: idOf(index), kind: 'single_phase', debitAccountId: 'a', creditAccountId: 'b', amount: 1n, ledger: 1, code: 1, userData: undefined,
      timeoutSeconds: 0, timeoutAt: undefined, pendingStatus: undefined, resolvedBy: undefined, pendingId: undefined,
    });
    for (let index = 0; index < count; index += 1) expect(table.append(record(index))).toBe(true);
    for (let index = 0; index < count; index += 997) {
      expect(table.slotOf(idOf(index))).toBe(index);
      expect(table.at(index).id).toBe(idOf(index));
    }
    expect(table.append(record(count - 1))).toBe(false);
    // Same length, one character different: not found.
    expect(table.slotOf(`${idOf(5).slice(0, -1)}y`)).toBeUndefined();
    expect(table.size).toBe(count);
  });

  it('refuses a replacement under another id and values that do not fit its columns', () => {
    const table = new TransferTable();
    const base: Transfer = {
      id: 'p', kind: 'pending', debitAccountId: 'a', creditAccountId: 'b', amount: 5n, ledger: 1, code: 1, userData: undefined,
      timeoutSeconds: 0, timeoutAt: undefined, pendingStatus: 'pending', resolvedBy: undefined, pendingId: undefined,
    };
    table.append(base);
    expect(() => table.replace(0, { ...base, id: 'q' })).toThrow(/does not hold transfer q/);
    expect(() => table.replace(0, { ...base, id: 'pq' })).toThrow(/does not hold transfer pq/); // 'p' is only a prefix
    expect(() => table.append({ ...base, id: 'big', amount: 1n << 64n })).toThrow(/does not fit 64 bits/);
    expect(() => table.append({ ...base, id: 'wide', ledger: 2 ** 32 })).toThrow(/outside 0..2\^32-1/);
    expect(() => table.replace(0, { ...base, code: -1 })).toThrow(/outside 0..2\^32-1/);
    expect(table.size).toBe(1);
    expect(table.get('big')).toBeUndefined();
    expect(table.at(0)).toEqual(base);
  });
});
