import { describe, expect, it } from 'vitest';
import { checkLinearizability, type Operation } from './checker.ts';
import { kvRegisterModel, type KvInput, type KvOutput } from './models/kv-register.ts';

type KvOperation = Operation<KvInput, KvOutput>;

const put = (clientId: number, key: string, value: string, call: number, returned: number): KvOperation =>
  ({ clientId, input: { op: 'put', key, value }, output: { ok: true }, call, return: returned });
const putUnknown = (clientId: number, key: string, value: string, call: number): KvOperation =>
  ({ clientId, input: { op: 'put', key, value }, output: undefined, call, return: Infinity });
const get = (clientId: number, key: string, value: string | null, call: number, returned: number): KvOperation =>
  ({ clientId, input: { op: 'get', key }, output: { value }, call, return: returned });

const outcomeOf = (history: KvOperation[]): string => checkLinearizability(kvRegisterModel, history).outcome;

describe('kv register model', () => {
  it('accepts a sequential history that reads back what was written', () => {
    expect(outcomeOf([get(0, 'x', null, 0, 1), put(0, 'x', '1', 2, 3), get(1, 'x', '1', 4, 5)])).toBe('ok');
  });

  it('rejects a stale read after a completed write', () => {
    const history = [put(0, 'x', '1', 0, 1), put(0, 'x', '2', 2, 3), get(1, 'x', '1', 4, 5)];
    const result = checkLinearizability(kvRegisterModel, history);
    expect(result.outcome).toBe('illegal');
    if (result.outcome !== 'illegal') return;
    expect(result.partition).toBe(0);
    expect(result.longestPrefix).toEqual([history[0], history[1]]);
    expect(result.explanation).toContain('get("x") -> "1": rejected by the model here');
  });

  it('lets a read concurrent with a write see either the old or the new value', () => {
    expect(outcomeOf([put(0, 'x', '1', 0, 1), put(0, 'x', '2', 2, 6), get(1, 'x', '1', 3, 4)])).toBe('ok');
    expect(outcomeOf([put(0, 'x', '1', 0, 1), put(0, 'x', '2', 2, 6), get(1, 'x', '2', 3, 4)])).toBe('ok');
  });

  it('treats operations touching at one timestamp as concurrent', () => {
    expect(outcomeOf([put(0, 'x', '1', 0, 5), get(1, 'x', null, 5, 6)])).toBe('ok');
    expect(outcomeOf([put(0, 'x', '1', 0, 5), get(1, 'x', null, 6, 7)])).toBe('illegal');
  });

  it('rejects a new-then-old inversion between two reads during one write', () => {
    expect(outcomeOf([put(0, 'x', '1', 0, 10), get(1, 'x', '1', 1, 2), get(2, 'x', null, 3, 4)])).toBe('illegal');
    expect(outcomeOf([put(0, 'x', '1', 0, 10), get(1, 'x', null, 1, 2), get(2, 'x', '1', 3, 4)])).toBe('ok');
  });

  it('rejects a read of a value never written', () => {
    expect(outcomeOf([put(0, 'x', '1', 0, 1), get(1, 'x', '7', 2, 3)])).toBe('illegal');
  });

  it('lets a timed-out write appear or not, but once seen later reads must not go back', () => {
    expect(outcomeOf([putUnknown(0, 'x', '1', 0), get(1, 'x', null, 5, 6)])).toBe('ok');
    expect(outcomeOf([putUnknown(0, 'x', '1', 0), get(1, 'x', '1', 5, 6)])).toBe('ok');
    expect(outcomeOf([putUnknown(0, 'x', '1', 0), get(1, 'x', null, 5, 6), get(1, 'x', '1', 7, 8)])).toBe('ok');
    expect(outcomeOf([putUnknown(0, 'x', '1', 0), get(1, 'x', '1', 5, 6), get(1, 'x', null, 7, 8)])).toBe('illegal');
  });

  it('does not let a timed-out write take effect before it was called', () => {
    expect(outcomeOf([get(1, 'x', '1', 0, 1), putUnknown(0, 'x', '1', 2)])).toBe('illegal');
  });

  it('checks keys independently and names the illegal partition', () => {
    const history = [
      put(0, 'a', '1', 0, 1), put(1, 'b', '1', 0, 1),
      get(0, 'a', '1', 2, 3), get(1, 'b', null, 2, 3),
    ];
    const result = checkLinearizability(kvRegisterModel, history);
    expect(result.outcome).toBe('illegal');
    if (result.outcome !== 'illegal') return;
    expect(result.partition).toBe(1);
    expect(result.longestPrefix).toEqual([history[1]]);
  });

  it('partitions by key, keeping each key in history order', () => {
    const history = [put(0, 'a', '1', 0, 1), put(1, 'b', '2', 0, 1), get(0, 'a', '1', 2, 3)];
    expect(kvRegisterModel.partition?.(history)).toEqual([[history[0], history[2]], [history[1]]]);
  });
});
