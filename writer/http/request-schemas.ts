/**
 * Request and response schemas of the writer's client API (DESIGN.md §4). Field names are part of
 * the contract. Shape is checked here (types, charset, ranges, unknown fields); rules that need
 * state (funds, existence, idempotency) are the Decider's.
 */
import Type, { type Static } from 'typebox';
import { batchItemsMax, codeMax, ledgerMax, timeoutSecondsMax, userDataLengthMax } from '../ledger/limits.ts';

const Id = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$', description: '1–64 characters of [A-Za-z0-9._:-]' });
/** Integer minor units as a decimal string, 1 … 2^63−1 (the upper bound is checked after parsing). */
const Amount = Type.String({ pattern: '^[1-9][0-9]{0,18}$', description: 'positive integer in minor units, as a decimal string' });
const Ledger = Type.Integer({ minimum: 1, maximum: ledgerMax });
const Code = Type.Integer({ minimum: 0, maximum: codeMax });
const UserData = Type.String({ maxLength: userDataLengthMax });

export const AccountBody = Type.Object({
  id: Id,
  ledger: Ledger,
  code: Code,
  flags: Type.Optional(Type.Object({
    debitsMustNotExceedCredits: Type.Optional(Type.Boolean()),
    creditsMustNotExceedDebits: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false })),
  userData: Type.Optional(UserData),
}, { additionalProperties: false });

export const TransferBody = Type.Object({
  id: Id,
  debitAccountId: Type.Optional(Id),
  creditAccountId: Type.Optional(Id),
  amount: Type.Optional(Amount),
  ledger: Type.Optional(Ledger),
  code: Type.Optional(Code),
  userData: Type.Optional(UserData),
  pending: Type.Optional(Type.Boolean()),
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: timeoutSecondsMax })),
  postPendingId: Type.Optional(Id),
  voidPendingId: Type.Optional(Id),
  linked: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

export const CreateAccountsBody = Type.Object({
  accounts: Type.Array(AccountBody, { minItems: 1, maxItems: batchItemsMax }),
}, { additionalProperties: false });

export const CreateTransfersBody = Type.Object({
  transfers: Type.Array(TransferBody, { minItems: 1, maxItems: batchItemsMax }),
}, { additionalProperties: false });

export type CreateAccountsBody = Static<typeof CreateAccountsBody>;
export type CreateTransfersBody = Static<typeof CreateTransfersBody>;

export const Position = Type.Object({ shard: Type.Integer({ minimum: 0 }), seq: Type.Integer({ minimum: 0 }) });

export const WriteResponse = Type.Object({
  results: Type.Array(Type.Object({ id: Type.String(), status: Type.String() })),
  position: Position,
});

export const ErrorResponse = Type.Object({
  error: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String()),
  leaderId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
