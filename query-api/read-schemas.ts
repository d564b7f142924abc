/**
 * Request and response schemas of the query API's reads (DESIGN.md §7). Field names are part of
 * the contract. Amounts and balances are decimal strings; ledger, code and seqs are numbers.
 */
import Type, { type Static } from 'typebox';
import { consistencyTokenHeader, waitTimeoutMsDefault, waitTimeoutMsMax } from './consistency.ts';

/** Largest page of `GET /v1/accounts/:id/transfers`. */
export const pageLimitMax = 500;
export const pageLimitDefault = 50;

const Id = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$', description: 'account or transfer id' });
const Signed = Type.String({ pattern: '^-?[0-9]{1,20}$', description: 'integer in minor units, as a decimal string' });
const Unsigned = Type.String({ pattern: '^[0-9]{1,20}$', description: 'non-negative integer in minor units, as a decimal string' });

export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;

/** Query parameters every read takes (DESIGN.md §7 read consistency); checked further in consistency.ts. */
const consistencyParameters = {
  consistency: Type.Optional(Type.Enum(['eventual', 'strong'], {
    description: 'eventual (default): read the projection now; strong: linearizable — a writer barrier, then wait until the projection reaches it',
  })),
  minSeq: Type.Optional(Type.String({
    pattern: '^[0-9]{1,16}$',
    description: 'read-your-writes: wait until the projection of the shard owning the resource reaches this seq (the seq of a write\'s position)',
  })),
  timeoutMs: Type.Optional(Type.String({
    pattern: '^[0-9]{1,9}$',
    description: `bound of the wait of a strong or read-your-writes read, 1..${waitTimeoutMsMax} ms (default ${waitTimeoutMsDefault}); past it: 504 with the current asOf`,
  })),
};

export const ConsistencyQuery = Type.Object(consistencyParameters, { additionalProperties: false });
export type ConsistencyQuery = Static<typeof ConsistencyQuery>;

export const ConsistencyHeaders = Type.Object({
  [consistencyTokenHeader]: Type.Optional(Type.String({
    pattern: '^[0-9]{1,2}:[0-9]{1,16}$',
    description: 'read-your-writes: <shard>:<seq>, as a write\'s position or an earlier answer\'s X-Consistency-Token; waits until that shard reaches seq',
  })),
});

export const EntriesQuery = Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: `page size, 1..${pageLimitMax} (default ${pageLimitDefault})` })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'nextCursor of the previous page' })),
  ...consistencyParameters,
}, { additionalProperties: false });
export type EntriesQuery = Static<typeof EntriesQuery>;

export const AsOf = Type.Object({ shard: Type.Integer({ minimum: 0 }), seq: Type.Integer({ minimum: 0 }) });
export type AsOf = Static<typeof AsOf>;

export const AccountResponse = Type.Object({
  id: Type.String(),
  ledger: Type.Integer(),
  code: Type.Integer(),
  flags: Type.Object({ debitsMustNotExceedCredits: Type.Boolean(), creditsMustNotExceedDebits: Type.Boolean() }),
  debitsPending: Unsigned,
  debitsPosted: Unsigned,
  creditsPending: Unsigned,
  creditsPosted: Unsigned,
  balance: Signed,
  asOf: AsOf,
});
export type AccountResponse = Static<typeof AccountResponse>;

export const TransferResponse = Type.Object({
  id: Type.String(),
  debitAccountId: Type.String(),
  creditAccountId: Type.String(),
  amount: Unsigned,
  ledger: Type.Integer(),
  code: Type.Integer(),
  status: Type.Union([Type.Literal('posted'), Type.Literal('pending'), Type.Literal('voided'), Type.Literal('expired')]),
  pendingId: Type.Union([Type.String(), Type.Null()]),
  seq: Type.Integer({ minimum: 1 }),
  occurredAt: Type.String({ description: 'ISO 8601' }),
  asOf: AsOf,
});
export type TransferResponse = Static<typeof TransferResponse>;

export const EntryItem = Type.Object({
  transferId: Type.String(),
  seq: Type.Integer({ minimum: 1 }),
  direction: Type.Union([Type.Literal('debit'), Type.Literal('credit')]),
  amount: Unsigned,
  balanceAfter: Signed,
  kind: Type.Union([Type.Literal('single_phase'), Type.Literal('pending'), Type.Literal('post_pending'), Type.Literal('void_pending'), Type.Literal('expire_pending')]),
  occurredAt: Type.String({ description: 'ISO 8601' }),
});
export type EntryItem = Static<typeof EntryItem>;

export const EntriesPage = Type.Object({
  items: Type.Array(EntryItem),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  asOf: AsOf,
});
export type EntriesPage = Static<typeof EntriesPage>;

export const ErrorResponse = Type.Object({
  error: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String({ description: 'the request parameter at fault (400)' })),
});

/** 504: the wait for the projection ran out; `asOf` says what the projection reflects now. */
export const TimeoutResponse = Type.Object({
  error: Type.Literal('consistency_timeout'),
  message: Type.String(),
  asOf: Type.Union([AsOf, Type.Null()], { description: 'current checkpoint of the shard waited for; null when no shard is known yet (no barrier ever answered)' }),
});
export type TimeoutResponse = Static<typeof TimeoutResponse>;
