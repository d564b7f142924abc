import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizability, type Operation } from './checker.ts';
import { kvRegisterModel, type KvInput, type KvOutput } from './models/kv-register.ts';
import { ledgerBalancesModel, type LedgerInput, type LedgerOutput } from './models/ledger-balances.ts';
import { kvImplementation, kvInputArbitrary, kvKeys } from './test/kv-implementation.ts';
import { ledgerImplementation, ledgerInputArbitrary } from './test/ledger-implementation.ts';
import { seededRandom, simulateHistory, type SchedulingStep } from './test/simulated-history.ts';

const clientCountMax = 8;
const stepsMax = 300;
const propertyRuns = 60;

const stepsArbitrary = <Input>(input: fc.Arbitrary<Input>): fc.Arbitrary<SchedulingStep<Input>[]> =>
  fc.array(fc.record({ client: fc.nat(clientCountMax - 1), action: fc.nat(63), input }), { maxLength: stepsMax });

/** Indices of operations matching `predicate`; the choice among them is `pick` modulo their count. */
function pickIndex<T>(items: readonly T[], predicate: (item: T) => boolean, pick: number): number | undefined {
  const indices = items.flatMap((item, index) => (predicate(item) ? [index] : []));
  return indices[pick % Math.max(1, indices.length)];
}

describe('histories of a real sequential store under random interleavings', () => {
  it('kv: every simulated history is linearizable', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: clientCountMax }), stepsArbitrary(kvInputArbitrary), (clients, steps) => {
        const history = simulateHistory(kvImplementation, clients, steps);
        expect(checkLinearizability(kvRegisterModel, history, { timeoutMs: 5_000 })).toEqual({ outcome: 'ok' });
      }),
      { numRuns: propertyRuns },
    );
  });

  it('kv: a read corrupted to a value never written is illegal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: clientCountMax }), stepsArbitrary(kvInputArbitrary), fc.nat(), (clients, steps, pick) => {
        const history = simulateHistory(kvImplementation, clients, steps);
        const index = pickIndex(history, (operation) => operation.input.op === 'get' && operation.output !== undefined, pick);
        fc.pre(index !== undefined);
        const corrupted: Operation<KvInput, KvOutput>[] = history.map((operation, position) =>
          position === index ? { ...operation, output: { value: 'never-written' } } : operation);
        const result = checkLinearizability(kvRegisterModel, corrupted, { timeoutMs: 5_000 });
        expect(result.outcome).toBe('illegal');
        if (result.outcome !== 'illegal') return;
        const corruptedOperation = corrupted[index ?? 0];
        expect(result.longestPrefix).not.toContain(corruptedOperation);
        expect(result.partition).toBe(kvRegisterModel.partition?.(corrupted).findIndex((part) =>
          part.includes(corruptedOperation as Operation<KvInput, KvOutput>)));
      }),
      { numRuns: propertyRuns },
    );
  });

  it('ledger: every simulated history is linearizable', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: clientCountMax }), stepsArbitrary(ledgerInputArbitrary), (clients, steps) => {
        const history = simulateHistory(ledgerImplementation, clients, steps);
        expect(checkLinearizability(ledgerBalancesModel, history, { timeoutMs: 5_000 })).toEqual({ outcome: 'ok' });
      }),
      { numRuns: propertyRuns },
    );
  });

  it('ledger: a read corrupted to a balance no set of transfers can reach is illegal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: clientCountMax }), stepsArbitrary(ledgerInputArbitrary), fc.nat(), (clients, steps, pick) => {
        const history = simulateHistory(ledgerImplementation, clients, steps);
        const index = pickIndex(history, (operation) => operation.input.op === 'read' && operation.output !== undefined, pick);
        fc.pre(index !== undefined);
        const unreachable = history.reduce((sum, operation) =>
          sum + (operation.input.op === 'transfer' ? operation.input.amount : 0n), 1n);
        const corrupted: Operation<LedgerInput, LedgerOutput>[] = history.map((operation, position) =>
          position === index ? { ...operation, output: { debitsPosted: unreachable, creditsPosted: 0n } } : operation);
        const result = checkLinearizability(ledgerBalancesModel, corrupted, { timeoutMs: 5_000 });
        expect(result.outcome).toBe('illegal');
        if (result.outcome !== 'illegal') return;
        expect(result.longestPrefix).not.toContain(corrupted[index ?? 0]);
      }),
      { numRuns: propertyRuns },
    );
  });
});

describe('checker speed', () => {
  it('checks a 2,000-operation, 16-client kv history in well under ten seconds', () => {
    const random = seededRandom(20261122);
    const steps: SchedulingStep<KvInput>[] = [];
    // About three scheduling steps per completed operation; stop once 2,000 operations are invoked.
    const stepsLimit = 20_000;
    for (let step = 0; step < stepsLimit; step++) {
      const key = kvKeys[Math.floor(random() * kvKeys.length)] ?? 'a';
      const input: KvInput = random() < 0.5
        ? { op: 'put', key, value: String(Math.floor(random() * 1_000)) }
        : { op: 'get', key };
      steps.push({ client: Math.floor(random() * 16), action: Math.floor(random() * 64), input });
    }
    const history = simulateHistory(kvImplementation, 16, steps, 2_000);
    expect(history.length).toBe(2_000);
    const unknownOutcomes = history.filter((operation) => operation.output === undefined).length;
    expect(unknownOutcomes).toBeGreaterThan(0);

    const started = performance.now();
    const result = checkLinearizability(kvRegisterModel, history, { timeoutMs: 20_000 });
    const elapsedMs = performance.now() - started;
    expect(result).toEqual({ outcome: 'ok' });
    expect(elapsedMs).toBeLessThan(10_000);
  });
});
