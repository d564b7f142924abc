/**
 * Property tests of the Decider's invariants over random command sequences: linked chains,
 * pending/post/void/expire, retries with the same ids, a leader that keeps a speculative
 * overlay, commits lazily and sometimes loses leadership (overlay discarded and rebuilt).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccountInput } from './account.ts';
import type { LedgerCommand } from './commands.ts';
import { decide, decideAndEvolve } from './decide.ts';
import type { ItemStatus } from './error-codes.ts';
import { evolve } from './evolve.ts';
import type { LedgerEvent } from './events.ts';
import { testNow } from './given-when-then.ts';
import { checkInvariants } from './invariants.ts';
import { initialState } from './ledger-state.ts';
import { createSpeculativeState, type SpeculativeLedgerState } from './speculative-state.ts';
import { stateDigest } from './state-digest.ts';
import type { TransferInput } from './transfer.ts';

const accounts: AccountInput[] = [
  { id: 'operator-1', ledger: 1, code: 1 },
  { id: 'a', ledger: 1, code: 2, flags: { debitsMustNotExceedCredits: true } },
  { id: 'b', ledger: 1, code: 2, flags: { debitsMustNotExceedCredits: true } },
  { id: 'c', ledger: 1, code: 3, flags: { creditsMustNotExceedDebits: true } },
  { id: 'd', ledger: 1, code: 2 },
  { id: 'operator-2', ledger: 2, code: 1 },
  { id: 'e', ledger: 2, code: 2, flags: { debitsMustNotExceedCredits: true } },
];
const accountIds = [...accounts.map((account) => account.id), 'ghost'];

const transferId = fc.integer({ min: 0, max: 24 }).map((index) => `t-${index}`);
const pendingTransferId = fc.integer({ min: 0, max: 7 }).map((index) => `p-${index}`);
const resolutionId = fc.integer({ min: 0, max: 11 }).map((index) => `r-${index}`);
const optional = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arbitrary, { nil: undefined, freq: 3 });
const rarely = fc.integer({ min: 0, max: 5 }).map((roll) => roll === 0);
const ledgerOneAccountId = fc.constantFrom('operator-1', 'a', 'b', 'c', 'd');

const newTransfer: fc.Arbitrary<TransferInput> = fc
  .record({
    pending: fc.boolean(),
    sameLedger: fc.integer({ min: 0, max: 9 }),
    debit: ledgerOneAccountId,
    credit: ledgerOneAccountId,
    anyDebit: fc.constantFrom(...accountIds),
    anyCredit: fc.constantFrom(...accountIds),
    amount: fc.bigInt({ min: 1n, max: 150n }),
    code: fc.constantFrom(1, 2),
    timeoutSeconds: fc.constantFrom(0, 1, 3),
    wrongTimeout: rarely,
    linked: rarely,
    transferIndex: transferId,
    pendingIndex: pendingTransferId,
  })
  .map((draw): TransferInput => {
    const regular = draw.sameLedger > 0;
    return {
      id: draw.pending ? draw.pendingIndex : draw.transferIndex,
      debitAccountId: regular ? draw.debit : draw.anyDebit,
      creditAccountId: regular ? draw.credit : draw.anyCredit,
      amount: draw.amount,
      ledger: regular ? 1 : 2,
      code: draw.code,
      pending: draw.pending,
      timeoutSeconds: draw.pending || draw.wrongTimeout ? draw.timeoutSeconds : 0,
      linked: draw.linked,
    };
  });
const resolution: fc.Arbitrary<TransferInput> = fc
  .record({ id: resolutionId, pendingId: fc.oneof({ weight: 5, arbitrary: pendingTransferId }, { weight: 1, arbitrary: transferId }), post: fc.boolean(), amount: optional(fc.bigInt({ min: 1n, max: 150n })), linked: rarely })
  .map(({ id, pendingId, post, amount, linked }) =>
    post ? { id, postPendingId: pendingId, amount, linked } : { id, voidPendingId: pendingId, amount: amount === undefined ? undefined : amount, linked });

type Step =
  | { kind: 'transfers'; transfers: TransferInput[]; advanceMs: number }
  | { kind: 'accounts'; indexes: number[]; codeShift: number }
  | { kind: 'expire'; advanceMs: number }
  | { kind: 'retry'; historyIndex: number }
  | { kind: 'commit'; count: number }
  | { kind: 'loseLeadership' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('transfers' as const), transfers: fc.array(fc.oneof({ weight: 3, arbitrary: newTransfer }, { weight: 2, arbitrary: resolution }), { minLength: 1, maxLength: 8 }), advanceMs: fc.integer({ min: 0, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('accounts' as const), indexes: fc.array(fc.integer({ min: 0, max: accounts.length - 1 }), { minLength: 1, maxLength: 3 }), codeShift: fc.constantFrom(0, 0, 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('expire' as const), advanceMs: fc.integer({ min: 0, max: 3000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('retry' as const), historyIndex: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const), count: fc.nat({ max: 40 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'loseLeadership' as const }) },
);

interface Decided {
  readonly command: LedgerCommand;
  readonly statuses: readonly ItemStatus[];
}

function runScenario(steps: readonly Step[]): void {
  const committed = initialState();
  /** Same events applied eagerly, never through an overlay: decide must agree with the leader. */
  const reference = initialState();
  let speculative: SpeculativeLedgerState = createSpeculativeState(committed);
  const uncommitted: LedgerEvent[] = [];
  const allEvents: LedgerEvent[] = [];
  const history: Decided[] = [];
  let now = testNow;
  let commandNumber = 0;

  const run = (command: LedgerCommand): readonly ItemStatus[] => {
    const expected = decide(command, reference);
    const outcome = decideAndEvolve(command, speculative);
    expect(outcome).toEqual(expected);
    if (outcome.type !== 'accepted') throw new Error(`unexpected rejection ${outcome.rejection.code}`);
    for (const event of outcome.events) evolve(reference, event);
    uncommitted.push(...outcome.events);
    allEvents.push(...outcome.events);
    const statuses = outcome.results.map((result) => result.status);
    history.push({ command, statuses });
    return statuses;
  };
  const metadata = (): { now: number; commandId: string } => ({ now, commandId: `command-${(commandNumber += 1)}` });

  run({ type: 'CreateAccounts', data: { accounts }, metadata: metadata() });
  run({
    type: 'CreateTransfers',
    data: { transfers: ['a', 'b', 'e'].map((id) => ({ id: `fund-${id}`, debitAccountId: id === 'e' ? 'operator-2' : 'operator-1', creditAccountId: id, amount: 200n, ledger: id === 'e' ? 2 : 1, code: 1 })) },
    metadata: metadata(),
  });
  run({ type: 'CreateTransfers', data: { transfers: [{ id: 'fund-c', debitAccountId: 'c', creditAccountId: 'd', amount: 100n, ledger: 1, code: 1 }] }, metadata: metadata() });

  for (const current of steps) {
    switch (current.kind) {
      case 'transfers':
        now += current.advanceMs;
        run({ type: 'CreateTransfers', data: { transfers: current.transfers }, metadata: metadata() });
        break;
      case 'accounts':
        run({
          type: 'CreateAccounts',
          data: { accounts: current.indexes.map((index) => ({ ...(accounts[index] as AccountInput), code: (accounts[index] as AccountInput).code + current.codeShift })) },
          metadata: metadata(),
        });
        break;
      case 'expire':
        now += current.advanceMs;
        run({ type: 'ExpirePendingTransfers', data: { now }, metadata: metadata() });
        break;
      case 'retry': {
        const original = history[current.historyIndex % history.length] as Decided;
        if (original.command.type === 'ExpirePendingTransfers') break;
        const retried = run({ ...original.command, metadata: metadata() } as LedgerCommand);
        // Idempotent retry returns the original outcome: what was created (or existed) now exists.
        original.statuses.forEach((status, index) => {
          if (status === 'created' || status === 'exists') expect(retried[index]).toBe('exists');
        });
        break;
      }
      case 'commit': {
        for (const event of uncommitted.splice(0, current.count)) evolve(committed, event);
        break;
      }
      case 'loseLeadership':
        // The overlay is discarded; the next leader (here, the same node) rebuilds it from the
        // committed store and the log suffix that is not applied yet.
        speculative = createSpeculativeState(committed, uncommitted);
        break;
      default: {
        const _exhaustive: never = current;
        throw new Error(`unknown step ${JSON.stringify(_exhaustive)}`);
      }
    }
    expect(checkInvariants(speculative)).toEqual([]);
  }

  const overlayDigest = stateDigest(speculative);
  for (const event of uncommitted.splice(0)) evolve(committed, event);
  expect(stateDigest(committed)).toBe(overlayDigest);
  expect(stateDigest(reference)).toBe(overlayDigest);
  expect(stateDigest(allEvents.reduce(evolve, initialState()))).toBe(overlayDigest);
  expect(committed.lastSeq).toBe(allEvents.length);
  expect(checkInvariants(committed)).toEqual([]);

  // A pending transfer resolves at most once, and only if it was pending.
  const resolutions = new Map<string, number>();
  const pendingIds = new Set<string>();
  for (const event of allEvents) {
    if (event.type === 'TransferCreated' && event.data.pending) pendingIds.add(event.data.id);
    const resolved = event.type === 'PendingTransferExpired' ? event.data.pendingId : event.type === 'PendingTransferPosted' || event.type === 'PendingTransferVoided' ? event.data.pendingId : undefined;
    if (resolved !== undefined) {
      expect(pendingIds.has(resolved)).toBe(true);
      resolutions.set(resolved, (resolutions.get(resolved) ?? 0) + 1);
    }
  }
  for (const count of resolutions.values()) expect(count).toBe(1);

  // Every id is created at most once.
  const created = allEvents.flatMap((event) => (event.type === 'AccountCreated' ? [`account:${event.data.id}`] : event.type === 'PendingTransferExpired' ? [] : [`transfer:${event.data.id}`]));
  expect(new Set(created).size).toBe(created.length);
}

describe('Decider properties over random command sequences', () => {
  it('keeps debits = credits per ledger, the flags, single resolution, idempotent retries, and overlay = committed', () => {
    fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => runScenario(steps)), { numRuns: 250 });
  });

  it('linked chains are all or nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(newTransfer, resolution), { minLength: 1, maxLength: 10 }), (transfers) => {
        const state = initialState();
        const setup = decide({ type: 'CreateAccounts', data: { accounts }, metadata: { now: testNow, commandId: 'setup' } }, state);
        if (setup.type !== 'accepted') throw new Error('setup rejected');
        for (const event of setup.events) evolve(state, event);
        const outcome = decide({ type: 'CreateTransfers', data: { transfers }, metadata: { now: testNow, commandId: 'chains' } }, state);
        if (outcome.type !== 'accepted') throw new Error('rejected');
        const createdIds = new Set(outcome.events.map((event) => (event.type === 'PendingTransferExpired' ? '' : event.data.id)));
        let start = 0;
        while (start < transfers.length) {
          let end = start;
          while ((transfers[end] as TransferInput).linked === true && end < transfers.length - 1) end += 1;
          const statuses = outcome.results.slice(start, end + 1).map((result) => result.status);
          const failed = statuses.some((status) => status !== 'created' && status !== 'exists');
          if (failed && end > start) {
            // Exactly one item names the cause; the others say linked_event_failed.
            expect(statuses.filter((status) => status !== 'linked_event_failed')).toHaveLength(1);
          }
          if (failed) {
            // A failed chain emits nothing, unless the same id is created elsewhere in the batch.
            for (let index = start; index <= end; index += 1) {
              const id = (transfers[index] as TransferInput).id;
              const elsewhere = outcome.results.some((result, other) => (other < start || other > end) && result.id === id && result.status === 'created');
              if (!elsewhere) expect(createdIds.has(id)).toBe(false);
            }
          }
          start = end + 1;
        }
      }),
      { numRuns: 300 },
    );
  });
});
