/**
 * The query API (DESIGN.md §7). Built without listening; query-api/server.ts listens.
 *
 * Reads are eventually consistent: they read Postgres now and say what they reflect in `asOf`
 * (the live projection's checkpoint of the row's shard) and in the `X-Consistency-Token` header.
 */
import Type from 'typebox';
import { sql, type Kysely } from 'kysely';
import { createHttpApp, type HttpApp } from '../common/http/create-app.ts';
import type { Logger } from '../common/logger.ts';
import type { LedgerReadModelDatabase } from '../projector/read-model-database.ts';
import { readAccount, readEntriesPage, readTransfer, type ReadError } from './ledger-reads.ts';
import { decodeCursor } from './page-cursor.ts';
import { AccountResponse, EntriesPage, EntriesQuery, ErrorResponse, IdParams, NoQuery, TransferResponse, pageLimitDefault, pageLimitMax, type AsOf } from './read-schemas.ts';

export interface QueryAppDependencies {
  readonly db: Kysely<LedgerReadModelDatabase>;
  readonly log: Logger;
}

export const consistencyTokenHeader = 'x-consistency-token';

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  component: Type.Literal('query-api'),
  database: Type.Boolean(),
});

function consistencyToken(asOf: AsOf): string {
  return `${asOf.shard}:${asOf.seq}`;
}

function describe(error: ReadError): { error: string; message: string } {
  switch (error.code) {
    case 'account_not_found':
      return { error: error.code, message: `account ${error.id} does not exist (or is not projected yet)` };
    case 'transfer_not_found':
      return { error: error.code, message: `transfer ${error.id} does not exist (or is not projected yet)` };
    default: {
      const _exhaustive: never = error;
      throw new Error(`unknown read error ${JSON.stringify(_exhaustive)}`);
    }
  }
}

function badField(field: string, message: string): { error: string; message: string; field: string } {
  return { error: 'invalid_request', message: `${field} ${message}`, field };
}

export function buildQueryApp({ db, log }: QueryAppDependencies): HttpApp {
  const app = createHttpApp({ log });

  app.get('/health', { schema: { response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    const database = await sql`SELECT 1`.execute(db).then(() => true, () => false);
    return reply.status(database ? 200 : 503).send({ status: database ? 'ok' : 'degraded', component: 'query-api', database });
  });

  const errorResponses = { 400: ErrorResponse, 404: ErrorResponse };

  app.get('/v1/accounts/:id', { schema: { params: IdParams, querystring: NoQuery, response: { 200: AccountResponse, ...errorResponses } } }, async (request, reply) => {
    const result = await readAccount(db, request.params.id);
    if (!result.ok) return reply.status(404).send(describe(result.error));
    return reply.header(consistencyTokenHeader, consistencyToken(result.value.asOf)).send(result.value);
  });

  app.get('/v1/transfers/:id', { schema: { params: IdParams, querystring: NoQuery, response: { 200: TransferResponse, ...errorResponses } } }, async (request, reply) => {
    const result = await readTransfer(db, request.params.id);
    if (!result.ok) return reply.status(404).send(describe(result.error));
    return reply.header(consistencyTokenHeader, consistencyToken(result.value.asOf)).send(result.value);
  });

  app.get('/v1/accounts/:id/transfers', { schema: { params: IdParams, querystring: EntriesQuery, response: { 200: EntriesPage, ...errorResponses } } }, async (request, reply) => {
    const limit = request.query.limit === undefined ? pageLimitDefault : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > pageLimitMax) return reply.status(400).send(badField('querystring.limit', `must be an integer from 1 to ${pageLimitMax}`));
    let beforeSeq: bigint | undefined;
    if (request.query.cursor !== undefined) {
      const cursor = decodeCursor(request.query.cursor);
      if (!cursor.ok) return reply.status(400).send(badField('querystring.cursor', 'is not a cursor this API issued'));
      beforeSeq = cursor.seq;
    }
    const result = await readEntriesPage(db, { accountId: request.params.id, limit, beforeSeq });
    if (!result.ok) return reply.status(404).send(describe(result.error));
    return reply.header(consistencyTokenHeader, consistencyToken(result.value.asOf)).send(result.value);
  });

  return app;
}
