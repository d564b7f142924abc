import fc from 'fast-check';
import type { KvInput, KvOutput } from '../models/kv-register.ts';
import type { SequentialImplementation } from './simulated-history.ts';

/** A plain in-memory map: the real sequential key-value store the kv model specifies. */
export const kvImplementation: SequentialImplementation<Map<string, string>, KvInput, KvOutput> = {
  init: () => new Map(),
  apply(state, input) {
    switch (input.op) {
      case 'put': {
        const next = new Map(state);
        next.set(input.key, input.value);
        return { state: next, output: { ok: true } };
      }
      case 'get':
        return { state, output: { value: state.get(input.key) ?? null } };
      default: {
        const _exhaustive: never = input;
        return _exhaustive;
      }
    }
  },
};

export const kvKeys = ['a', 'b', 'c'];

export const kvInputArbitrary: fc.Arbitrary<KvInput> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), key: fc.constantFrom(...kvKeys), value: fc.constantFrom('1', '2', '3', '4') }),
  fc.record({ op: fc.constant('get' as const), key: fc.constantFrom(...kvKeys) }),
);
