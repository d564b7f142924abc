import assert from 'node:assert/strict';
import type { ExpirePendingTransfers } from './commands.ts';
import type { PendingTransferExpired } from './events.ts';
import { dueExpiries } from './expiry-query.ts';
import type { LedgerState } from './ledger-state.ts';
import { expiriesPerCommandMax } from './limits.ts';

/**
 * Expires every pending transfer whose timeout passed by `data.now` (the leader's clock), up to
 * `expiriesPerCommandMax`; the timer sends another command for the rest. No per-item results.
 */
export function decideExpirePendingTransfers(command: ExpirePendingTransfers, state: LedgerState): PendingTransferExpired[] {
  const expiredAt = command.data.now;
  return dueExpiries(state, expiredAt, expiriesPerCommandMax).map((entry) => {
    const pending = state.transfer(entry.id);
    if (!(pending !== undefined && pending.pendingStatus === 'pending')) assert.fail(`expiry index holds ${entry.id}, which is not pending`);
    return {
      type: 'PendingTransferExpired',
      data: {
        pendingId: pending.id,
        amount: pending.amount,
        debitAccountId: pending.debitAccountId,
        creditAccountId: pending.creditAccountId,
        ledger: pending.ledger,
        code: pending.code,
        expiredAt,
      },
    };
  });
}
