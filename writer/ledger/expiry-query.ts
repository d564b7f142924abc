import assert from 'node:assert/strict';
import type { ExpiryEntry } from './expiry-heap.ts';
import type { LedgerState } from './ledger-state.ts';

/**
 * Queries for the leader's expiry timer, backed by the state's expiry heap (pending transfers
 * with a timeout, ordered by (timeoutAt, id)): O(1) for the next one, O(k log k) for k due.
 */

/** `timeoutAt` (ms) of the earliest pending transfer that can expire, or undefined if none. */
export function nextExpiryDue(state: LedgerState): number | undefined {
  for (const entry of state.pendingExpiriesInOrder()) return entry.timeoutAt;
  return undefined;
}

/** Up to `max` pending transfers with `timeoutAt` ≤ `now`, earliest first. */
export function dueExpiries(state: LedgerState, now: number, max: number): ExpiryEntry[] {
  assert(Number.isSafeInteger(max) && max >= 0);
  const due: ExpiryEntry[] = [];
  if (max === 0) return due;
  for (const entry of state.pendingExpiriesInOrder()) {
    if (entry.timeoutAt > now) break;
    due.push(entry);
    if (due.length >= max) break;
  }
  return due;
}
