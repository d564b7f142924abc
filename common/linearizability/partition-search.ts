import assert from 'node:assert/strict';
import type { Model, Operation } from './checker.ts';
import { buildEventList, lift, unlift, type HistoryEvent } from './event-list.ts';
import { LinearizedSet } from './linearized-set.ts';

/** How many search steps run between two looks at the clock. */
export const clockCheckIntervalSteps = 1024;
/**
 * Upper bound on the memo's size, in 32-bit bitset words. The memo only prunes, so when it is
 * full it is cleared (the search stays sound and complete, it just may revisit configurations).
 */
export const memoWordsMax = 32 * 1024 * 1024;

export type PartitionSearchResult =
  | { outcome: 'ok' }
  | { outcome: 'illegal'; longestPrefix: number[] }
  | { outcome: 'timeout' };

interface MemoEntry {
  readonly hashHigh: number;
  readonly words: Uint32Array;
}

/**
 * Configurations already explored: state hash → low half of the linearized set's hash → entries.
 * Numbers as inner keys keep the hot path free of string building.
 */
class Memo {
  readonly #byState = new Map<string, Map<number, MemoEntry[]>>();
  #words = 0;

  /** Records the configuration; false if it was already recorded. */
  insert(stateHash: string, linearized: LinearizedSet): boolean {
    let bySet = this.#byState.get(stateHash);
    const bucket = bySet?.get(linearized.hashLow);
    if (bucket !== undefined) {
      for (const entry of bucket) {
        if (entry.hashHigh === linearized.hashHigh && linearized.equals(entry.words)) return false;
      }
    }
    if (this.#words + linearized.wordCount > memoWordsMax) {
      this.#byState.clear();
      this.#words = 0;
      bySet = undefined;
    }
    if (bySet === undefined) {
      bySet = new Map();
      this.#byState.set(stateHash, bySet);
    }
    const entry = { hashHigh: linearized.hashHigh, words: linearized.snapshot() };
    const current = bySet.get(linearized.hashLow);
    if (current === undefined) bySet.set(linearized.hashLow, [entry]);
    else current.push(entry);
    this.#words += linearized.wordCount;
    return true;
  }
}

interface Frame<State> {
  readonly call: HistoryEvent;
  readonly stateBefore: State;
  readonly stateHashBefore: string;
  /** The operation left the state as it was, so no sibling needs trying after it (see below). */
  readonly withoutEffect: boolean;
}

/**
 * Wing & Gong's search with Lowe's just-in-time linearization (as in Porcupine): walk the
 * time-ordered event list; at a call, try to linearize that operation now (its call precedes every
 * return still in the list, so it is minimal); at the first return, the operation it closes was
 * not linearized in time, so backtrack. Configurations (linearized set, model state) already
 * explored are memoized and skipped.
 *
 * Operations with an unknown outcome (`output === undefined`) never need to be linearized: the
 * search succeeds as soon as every operation with a known outcome is linearized, which is the same
 * as the unknown ones taking effect at +infinity, i.e. not at all.
 *
 * Two prunings use operations without effect (`step` returned the very state object it was given):
 * - one with an unknown outcome is never linearized: (linearized + u, s) can reach nothing that
 *   (linearized, s) cannot, because u need never be linearized and its return at +infinity
 *   constrains nothing;
 * - one with a known outcome that is legal now is linearized now and its siblings are not tried:
 *   in any linearization from here it can be moved to the front (it is minimal, so nothing must
 *   precede it, and it changes no state), so if linearizing it first fails, everything fails here.
 */
export function searchPartition<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: readonly Operation<Input, Output>[],
  clock: () => number,
  deadline: number,
): PartitionSearchResult {
  let knownRemaining = operations.filter((operation) => operation.output !== undefined).length;
  if (knownRemaining === 0) return { outcome: 'ok' };

  const head = buildEventList(operations);
  const linearized = new LinearizedSet(operations.length);
  const memo = new Memo();
  const stack: Frame<State>[] = [];
  let longestPrefix: number[] = [];
  let state = model.init();
  let stateHash = model.hash(state);
  let event = head.next;
  let steps = 0;

  while (true) {
    steps++;
    if (steps % clockCheckIntervalSteps === 0 && clock() > deadline) return { outcome: 'timeout' };
    assert(event !== null, 'the walk never passes the first return still in the list');

    if (event.isCall) {
      const operation = operations[event.operation];
      assert(operation !== undefined);
      const isKnown = operation.output !== undefined;
      const result = model.step(state, operation.input, operation.output);
      const withoutEffect = result.state === state;
      if (result.ok && (isKnown || !withoutEffect)) {
        const resultHash = withoutEffect ? stateHash : model.hash(result.state);
        linearized.add(event.operation);
        if (memo.insert(resultHash, linearized)) {
          stack.push({ call: event, stateBefore: state, stateHashBefore: stateHash, withoutEffect });
          state = result.state;
          stateHash = resultHash;
          if (isKnown) knownRemaining--;
          if (knownRemaining === 0) return { outcome: 'ok' };
          lift(event);
          if (stack.length > longestPrefix.length) longestPrefix = stack.map((frame) => frame.call.operation);
          event = head.next;
          continue;
        }
        linearized.remove(event.operation);
      }
      event = event.next;
    } else {
      let frame: Frame<State> | undefined;
      do {
        frame = stack.pop();
        if (frame === undefined) return { outcome: 'illegal', longestPrefix };
        const operation = operations[frame.call.operation];
        assert(operation !== undefined);
        state = frame.stateBefore;
        stateHash = frame.stateHashBefore;
        linearized.remove(frame.call.operation);
        if (operation.output !== undefined) knownRemaining++;
        unlift(frame.call);
      } while (frame.withoutEffect);
      event = frame.call.next;
    }
  }
}
