import assert from 'node:assert/strict';
import type { Model, Operation } from './checker.ts';

/** Bounds on report length: the tail of the prefix and the candidates listed. */
export const explanationPrefixOperationsMax = 10;
export const explanationCandidatesMax = 20;

/**
 * A human-readable account of why a partition has no linearization: the longest linearizable
 * prefix found, the model state after it, and the operations that could have come next (called
 * before the earliest return still outstanding), none of which leads to a full linearization.
 */
export function explainIllegal<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation<I, O>[],
  longestPrefix: readonly number[],
  partition: number,
): string {
  const describe = (index: number): string => {
    const operation = operations[index];
    assert(operation !== undefined);
    const text = model.describe?.(operation.input, operation.output)
      ?? `${toJson(operation.input)} -> ${operation.output === undefined ? 'unknown' : toJson(operation.output)}`;
    return `#${index} client ${operation.clientId} [${operation.call}, ${operation.return}] ${text}`;
  };

  let state = model.init();
  for (const index of longestPrefix) {
    const operation = operations[index];
    assert(operation !== undefined);
    const result = model.step(state, operation.input, operation.output);
    assert(result.ok, 'the longest prefix replays on the model');
    state = result.state;
  }

  const inPrefix = new Set(longestPrefix);
  const remaining = operations.map((_operation, index) => index).filter((index) => !inPrefix.has(index));
  const earliestReturn = remaining.reduce((earliest, index) => Math.min(earliest, operations[index]?.return ?? Infinity), Infinity);
  const candidates = remaining.filter((index) => (operations[index]?.call ?? Infinity) <= earliestReturn);

  const lines = [
    `partition ${partition}: no linearization of ${operations.length} operations;`
      + ` the longest linearizable prefix has ${longestPrefix.length}.`,
  ];
  const shownPrefix = longestPrefix.slice(-explanationPrefixOperationsMax);
  if (shownPrefix.length < longestPrefix.length) lines.push(`… ${longestPrefix.length - shownPrefix.length} earlier operations`);
  for (const index of shownPrefix) lines.push(`  ${describe(index)}`);
  lines.push(`state after the prefix: ${model.hash(state)}`);
  lines.push('operations that could come next, none of which leads to a linearization:');
  for (const index of candidates.slice(0, explanationCandidatesMax)) {
    const operation = operations[index];
    assert(operation !== undefined);
    const verdict = model.step(state, operation.input, operation.output).ok
      ? 'accepted here, but no linearization follows'
      : 'rejected by the model here';
    lines.push(`  ${describe(index)}: ${verdict}`);
  }
  if (candidates.length > explanationCandidatesMax) lines.push(`  … ${candidates.length - explanationCandidatesMax} more`);
  return lines.join('\n');
}

function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item));
}
