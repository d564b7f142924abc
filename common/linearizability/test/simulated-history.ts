import assert from 'node:assert/strict';
import type { Operation } from '../checker.ts';

/** A real sequential implementation, run at each operation's chosen linearization point. */
export interface SequentialImplementation<State, Input, Output> {
  init(): State;
  apply(state: State, input: Input): { state: State; output: Output };
}

/** One scheduling decision: which client moves, what it does (see `simulateHistory`), its next input. */
export interface SchedulingStep<Input> {
  client: number;
  action: number;
  input: Input;
}

export const actionsPerStep = 16;

type ClientPhase<Output> =
  | { phase: 'idle' }
  | { phase: 'invoked'; operation: number }
  | { phase: 'applied'; operation: number; output: Output };

/**
 * Runs a sequential implementation under a random interleaving of concurrent clients and returns
 * the history the clients observed, which is linearizable by construction: every operation takes
 * effect at one instant between its call and its return. `action % actionsPerStep`:
 * 0 = the client gives up (unknown outcome; an operation not yet applied is orphaned and the server
 * may still apply it later, or never), 14 = the server applies the oldest orphan, 15 = the server
 * drops it; anything else moves the client on (invoke → apply → return). No operation is invoked
 * once `operationsMax` have been.
 */
export function simulateHistory<State, Input, Output>(
  implementation: SequentialImplementation<State, Input, Output>,
  clientCount: number,
  steps: readonly SchedulingStep<Input>[],
  operationsMax = Infinity,
): Operation<Input, Output>[] {
  assert(clientCount > 0);
  const operations: Operation<Input, Output>[] = [];
  const clients: ClientPhase<Output>[] = Array.from({ length: clientCount }, () => ({ phase: 'idle' }));
  const orphans: Input[] = [];
  let state = implementation.init();
  let time = 0;

  const apply = (input: Input): Output => {
    const result = implementation.apply(state, input);
    state = result.state;
    time++;
    return result.output;
  };
  const finish = (operationIndex: number, output: Output | undefined): void => {
    const operation = operations[operationIndex];
    assert(operation !== undefined);
    operation.output = output;
    operation.return = output === undefined ? Infinity : time++;
  };

  for (const step of steps) {
    const action = step.action % actionsPerStep;
    if (action >= 14 && orphans.length > 0) {
      const orphan = orphans.shift();
      assert(orphan !== undefined);
      if (action === 14) apply(orphan);
      continue;
    }
    const clientIndex = step.client % clientCount;
    const client = clients[clientIndex];
    assert(client !== undefined);
    switch (client.phase) {
      case 'idle':
        if (operations.length >= operationsMax) break;
        operations.push({ clientId: clientIndex, input: step.input, output: undefined, call: time++, return: Infinity });
        clients[clientIndex] = { phase: 'invoked', operation: operations.length - 1 };
        break;
      case 'invoked': {
        const operation = operations[client.operation];
        assert(operation !== undefined);
        if (action === 0) {
          orphans.push(operation.input);
          finish(client.operation, undefined);
          clients[clientIndex] = { phase: 'idle' };
        } else {
          clients[clientIndex] = { phase: 'applied', operation: client.operation, output: apply(operation.input) };
        }
        break;
      }
      case 'applied':
        finish(client.operation, action === 0 ? undefined : client.output);
        clients[clientIndex] = { phase: 'idle' };
        break;
      default: {
        const _exhaustive: never = client;
        return _exhaustive;
      }
    }
  }
  for (const client of clients) {
    if (client.phase === 'invoked') {
      const operation = operations[client.operation];
      assert(operation !== undefined);
      const output = apply(operation.input);
      finish(client.operation, output);
    } else if (client.phase === 'applied') {
      finish(client.operation, client.output);
    }
  }
  return operations;
}

/** Small deterministic PRNG (mulberry32) for seeded, reproducible large histories. */
export function seededRandom(seed: number): () => number {
  let current = seed >>> 0;
  return () => {
    current = (current + 0x6d2b79f5) >>> 0;
    let mixed = current;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}
