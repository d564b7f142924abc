/**
 * Read-only inspection of a node's committed state, for operators (ledgerctl) and the black-box
 * tests that check every node applied exactly the acknowledged transfers. Bounded: at most
 * `lookupIdsMax` ids per lookup and `accountsPageMax` accounts per answer.
 */
import Type from 'typebox';
import { encodeEnvelopeMessage, type EnvelopeInput } from '../../common/events/envelope.ts';
import type { HttpApp } from '../../common/http/create-app.ts';
import { accountBalance, checkInvariants, type LedgerState } from '../ledger/index.ts';

export const lookupIdsMax = 8190;
export const accountsPageMax = 10_000;
/** Events per answer of GET /v1/admin/events. */
export const eventsPageMax = 5_000;

/** The node's applied events as the publisher reads them. */
export interface AdminEventSource {
  lastSeq(): number;
  firstReadableSeq(): number;
  read(fromSeq: number, max: number): EnvelopeInput[];
}

const Id = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$' });

export function registerAdminRoutes(app: HttpApp, state: () => LedgerState, events: AdminEventSource): void {
  // The exact Kafka messages the publisher sends for a seq range, from this node's applied log:
  // lets tests and operators compare the topic with the log. Events compacted away after they were
  // published answer 410.
  const SeqText = Type.String({ pattern: '^[1-9][0-9]{0,14}$' });
  const EventsQuery = Type.Object({ fromSeq: SeqText, limit: Type.Optional(SeqText) }, { additionalProperties: false });
  const EventMessage = Type.Object({ seq: Type.Integer(), key: Type.String(), value: Type.String(), headers: Type.Object({ seq: Type.String(), type: Type.String() }) });
  const EventsError = Type.Object({ error: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) });
  app.get('/v1/admin/events', {
    schema: { querystring: EventsQuery, response: { 200: Type.Object({ lastSeq: Type.Integer(), firstReadableSeq: Type.Integer(), events: Type.Array(EventMessage) }), 400: EventsError, 410: EventsError } },
  }, async (request, reply) => {
    const fromSeq = Number(request.query.fromSeq);
    const limit = request.query.limit === undefined ? eventsPageMax : Number(request.query.limit);
    if (limit > eventsPageMax) return reply.status(400).send({ error: 'invalid_request', message: `querystring.limit must be at most ${eventsPageMax}`, field: 'querystring.limit' });
    const firstReadableSeq = events.firstReadableSeq();
    if (fromSeq < firstReadableSeq) {
      return reply.status(410).send({ error: 'events_compacted', message: `querystring.fromSeq ${fromSeq} is below ${firstReadableSeq}: published and compacted away on this node (read it from Kafka)`, field: 'querystring.fromSeq' });
    }
    const messages = events.read(fromSeq, limit).map((input) => {
      const message = encodeEnvelopeMessage(input);
      return { seq: input.seq, key: message.key, value: message.value, headers: { ...message.headers } };
    });
    return { lastSeq: events.lastSeq(), firstReadableSeq, events: messages };
  });

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
