/**
 * Read-only inspection of a node's committed state, for operators (ledgerctl) and the black-box
 * tests that check every node applied exactly the acknowledged transfers. Bounded: at most
 * `lookupIdsMax` ids per lookup and `accountsPageMax` accounts per answer.
 */
import Type from 'typebox';
import type { HttpApp } from '../../common/http/create-app.ts';
import { accountBalance, checkInvariants, type LedgerState } from '../ledger/index.ts';

export const lookupIdsMax = 8190;
export const accountsPageMax = 10_000;

const Id = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$' });

export function registerAdminRoutes(app: HttpApp, state: () => LedgerState): void {
  const LookupBody = Type.Object({ transferIds: Type.Array(Id, { minItems: 1, maxItems: lookupIdsMax }) }, { additionalProperties: false });
  const TransferView = Type.Object({
    id: Type.String(), kind: Type.String(), debitAccountId: Type.String(), creditAccountId: Type.String(), amount: Type.String(),
    ledger: Type.Integer(), code: Type.Integer(), pendingStatus: Type.Union([Type.String(), Type.Null()]), pendingId: Type.Union([Type.String(), Type.Null()]),
  });
  app.post('/v1/admin/transfers/lookup', {
    schema: { body: LookupBody, response: { 200: Type.Object({ lastSeq: Type.Integer(), found: Type.Array(TransferView), missing: Type.Array(Type.String()) }) } },
  }, async (request) => {
    const ledger = state();
    const found = [];
    const missing = [];
    for (const id of request.body.transferIds) {
      const transfer = ledger.transfer(id);
      if (transfer === undefined) missing.push(id);
      else {
        found.push({
          id: transfer.id, kind: transfer.kind, debitAccountId: transfer.debitAccountId, creditAccountId: transfer.creditAccountId,
          amount: transfer.amount.toString(), ledger: transfer.ledger, code: transfer.code,
          pendingStatus: transfer.pendingStatus ?? null, pendingId: transfer.pendingId ?? null,
        });
      }
    }
    return { lastSeq: ledger.lastSeq, found, missing };
  });

  const AccountView = Type.Object({
    id: Type.String(), ledger: Type.Integer(), code: Type.Integer(), debitsPending: Type.String(), debitsPosted: Type.String(),
    creditsPending: Type.String(), creditsPosted: Type.String(), balance: Type.String(),
  });
  app.get('/v1/admin/state', {
    schema: { response: { 200: Type.Object({ lastSeq: Type.Integer(), accounts: Type.Array(AccountView), accountsTruncated: Type.Boolean(), violations: Type.Array(Type.Object({ code: Type.String(), message: Type.String() })) }) } },
  }, async () => {
    const ledger = state();
    const accounts = [];
    let truncated = false;
    for (const account of ledger.accounts()) {
      if (accounts.length >= accountsPageMax) {
        truncated = true;
        break;
      }
      accounts.push({
        id: account.id, ledger: account.ledger, code: account.code,
        debitsPending: account.debitsPending.toString(), debitsPosted: account.debitsPosted.toString(),
        creditsPending: account.creditsPending.toString(), creditsPosted: account.creditsPosted.toString(),
        balance: accountBalance(account).toString(),
      });
    }
    accounts.sort((left, right) => (left.id < right.id ? -1 : left.id > right.id ? 1 : 0));
    return { lastSeq: ledger.lastSeq, accounts, accountsTruncated: truncated, violations: checkInvariants(ledger).map((violation) => ({ ...violation })) };
  });
}
