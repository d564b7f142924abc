import { createHash } from 'node:crypto';
import type { LedgerState } from './ledger-state.ts';
import { encodeSnapshot } from './snapshot.ts';

/**
 * sha256 (hex) over the canonical snapshot encoding (sorted by id, fixed field order): equal
 * states give equal digests on every node — for cross-node checks and tests. O(n log n).
 */
export function stateDigest(state: LedgerState): string {
  return createHash('sha256').update(encodeSnapshot(state)).digest('hex');
}
