import type { Model, Operation } from '../checker.ts';

/**
 * A linearizable key-value store of string registers: every key starts absent (`null`), a put
 * overwrites, a get returns the latest value. Keys are independent, so histories are partitioned
 * by key and each key is checked on its own.
 */
export type KvInput =
  | { op: 'put'; key: string; value: string }
  | { op: 'get'; key: string };

export type KvOutput = { ok: true } | { value: string | null };

/** Current value of every key that has been written. */
export type KvState = ReadonlyMap<string, string>;

export const kvRegisterModel: Model<KvState, KvInput, KvOutput> = {
  init: () => new Map(),

  step(state, input, output) {
    switch (input.op) {
      case 'put': {
        // A put cannot fail in this model; an unknown outcome is applied here (or skipped by the checker).
        const next = new Map(state);
        next.set(input.key, input.value);
        return { ok: true, state: next };
      }
      case 'get': {
        if (output === undefined) return { ok: true, state };
        const expected = state.get(input.key) ?? null;
        return { ok: 'value' in output && output.value === expected, state };
      }
      default: {
        const _exhaustive: never = input;
        return _exhaustive;
      }
    }
  },

  hash(state) {
    // Partitioned histories hold one key, so skip the sort there.
    if (state.size <= 1) return JSON.stringify([...state]);
    const keys = [...state.keys()].sort();
    return JSON.stringify(keys.map((key) => [key, state.get(key)]));
  },

  partition(history) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const operation of history) {
      const operations = byKey.get(operation.input.key);
      if (operations === undefined) byKey.set(operation.input.key, [operation]);
      else operations.push(operation);
    }
    return [...byKey.values()];
  },

  describe(input, output) {
    const result = output === undefined ? 'unknown' : 'value' in output ? JSON.stringify(output.value) : 'ok';
    switch (input.op) {
      case 'put':
        return `put(${JSON.stringify(input.key)}, ${JSON.stringify(input.value)}) -> ${result}`;
      case 'get':
        return `get(${JSON.stringify(input.key)}) -> ${result}`;
      default: {
        const _exhaustive: never = input;
        return _exhaustive;
      }
    }
  },
};
