import { describe, expect, it } from 'vitest';
import { checkLinearizability, type Model, type Operation } from './checker.ts';
import { kvRegisterModel, type KvInput, type KvOutput } from './models/kv-register.ts';

/** A counter: `add` returns nothing, `read` returns the total. Unpartitioned, order-insensitive. */
type CounterInput = { op: 'add'; amount: number } | { op: 'read' };
const counterModel: Model<number, CounterInput, number | null> = {
  init: () => 0,
  step(state, input, output) {
    switch (input.op) {
      case 'add':
        return { ok: true, state: state + input.amount };
      case 'read':
        return { ok: output === undefined || output === state, state };
      default: {
        const _exhaustive: never = input;
        return _exhaustive;
      }
    }
  },
  hash: (state) => String(state),
};
type CounterOperation = Operation<CounterInput, number | null>;
const add = (clientId: number, amount: number, call: number, returned: number): CounterOperation =>
  ({ clientId, input: { op: 'add', amount }, output: null, call, return: returned });
const addUnknown = (clientId: number, amount: number, call: number): CounterOperation =>
  ({ clientId, input: { op: 'add', amount }, output: undefined, call, return: Infinity });
const read = (clientId: number, total: number, call: number, returned: number): CounterOperation =>
  ({ clientId, input: { op: 'read' }, output: total, call, return: returned });

describe('checkLinearizability', () => {
  it('accepts the empty history and one made only of unknown outcomes', () => {
    expect(checkLinearizability(counterModel, [])).toEqual({ outcome: 'ok' });
    expect(checkLinearizability(counterModel, [addUnknown(0, 1, 0), addUnknown(1, 2, 0)])).toEqual({ outcome: 'ok' });
  });

  it('lets each of several timed-out operations take effect or not, independently', () => {
    const unknowns = [addUnknown(0, 1, 0), addUnknown(1, 2, 0), addUnknown(2, 4, 0)];
    for (const total of [0, 1, 2, 3, 4, 5, 6, 7]) {
      expect(checkLinearizability(counterModel, [...unknowns, read(3, total, 10, 11)]).outcome).toBe('ok');
    }
    expect(checkLinearizability(counterModel, [...unknowns, read(3, 8, 10, 11)]).outcome).toBe('illegal');
    // Once 1 is seen, it cannot disappear again.
    expect(checkLinearizability(counterModel, [...unknowns, read(3, 1, 10, 11), read(3, 2, 12, 13)]).outcome).toBe('illegal');
    expect(checkLinearizability(counterModel, [...unknowns, read(3, 1, 10, 11), read(3, 3, 12, 13)]).outcome).toBe('ok');
  });

  it('reports the longest linearizable prefix and the candidates that could not follow', () => {
    const history = [add(0, 1, 0, 1), add(0, 1, 2, 3), read(1, 1, 4, 5)];
    const result = checkLinearizability(counterModel, history);
    expect(result.outcome).toBe('illegal');
    if (result.outcome !== 'illegal') return;
    expect(result.partition).toBe(0);
    expect(result.longestPrefix).toEqual([history[0], history[1]]);
    expect(result.explanation).toContain('the longest linearizable prefix has 2');
    expect(result.explanation).toContain('state after the prefix: 2');
    expect(result.explanation).toContain('#2 client 1 [4, 5] {"op":"read"} -> 1: rejected by the model here');
  });

  it('answers unknown when the time budget runs out instead of searching on', () => {
    // Thirty concurrent puts then a read of a value none of them wrote: refuting it means trying
    // every subset of the puts, far more than the budget allows.
    const history: Operation<KvInput, KvOutput>[] = Array.from({ length: 30 }, (_unused, index) => ({
      clientId: index, input: { op: 'put', key: 'x', value: String(index) }, output: { ok: true }, call: 0, return: 100,
    }));
    for (let index = 0; index < 30; index++) {
      history.push({ clientId: index, input: { op: 'put', key: 'x', value: String(index) }, output: undefined, call: 50, return: Infinity });
    }
    history.push({ clientId: 99, input: { op: 'get', key: 'x' }, output: { value: 'never' }, call: 200, return: 201 });
    const started = performance.now();
    const result = checkLinearizability(kvRegisterModel, history, { timeoutMs: 200 });
    expect(result).toEqual({ outcome: 'unknown', reason: 'timeout' });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('uses the clock it is given for the budget', () => {
    let now = 0;
    const clock = (): number => (now += 1_000);
    const history: CounterOperation[] = Array.from({ length: 20 }, (_unused, index) => add(index, 1 << index, 0, 10));
    history.push(read(99, -1, 20, 21));
    expect(checkLinearizability(counterModel, history, { timeoutMs: 1_500, clock })).toEqual({ outcome: 'unknown', reason: 'timeout' });
  });

  it('refuses malformed histories', () => {
    expect(() => checkLinearizability(counterModel, [add(0, 1, 5, 4)])).toThrow(/returns before it is called/);
    expect(() => checkLinearizability(counterModel, [add(0, 1, Number.NaN, 4)])).toThrow(/finite call time/);
  });
});
