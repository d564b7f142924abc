/**
 * The query API (DESIGN.md §7). Built without listening; query-api/server.ts listens.
 *
 * Every read says what it reflects in `asOf` (the live projection's checkpoint of the row's shard,
 * from the same snapshot as the row) and in the `X-Consistency-Token` header. Consistency per
 * request (`?consistency=eventual|strong`, `?minSeq=`, the `X-Consistency-Token` request header,
 * `?timeoutMs=`) is parsed in consistency.ts and carried out in consistent-read.ts.
 *
 * Answers: 200; 400 naming the parameter; 404 unknown account/transfer; 503 + Retry-After when a
 * strong read finds no writer leader (or a bound is full); 504 with the current `asOf` when the
 * projection did not get there in time — never a stale 200. OpenAPI at /docs (JSON: /docs/json),
 * GET /health, GET /metrics.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { createHttpApp, type HttpApp } from '../common/http/create-app.ts';
import type { Logger } from '../common/logger.ts';
import type { BarrierClient } from './barrier-client.ts';
import type { CheckpointWaiter } from './checkpoint-waiter.ts';
import { ReadCache, readCacheEntriesDefault } from './read-cache.ts';
import { consistencyLabel, consistencyTokenHeader, formatConsistencyToken, parseReadRequirement, type ReadRequirement } from './consistency.ts';
import { consistentRead } from './consistent-read.ts';
import { readAccount, readEntriesPage, readTransfer, type Queryable, type ReadError, type ReadResult } from './ledger-reads.ts';
import type { QueryMetrics } from './metrics.ts';
import { decodeCursor } from './page-cursor.ts';
import {
  AccountResponse, ConsistencyHeaders, ConsistencyQuery, EntriesPage, EntriesQuery, ErrorResponse, IdParams, TimeoutResponse, TransferResponse,
  pageLimitDefault, pageLimitMax, type AsOf,
} from './read-schemas.ts';

export { consistencyTokenHeader } from './consistency.ts';

export interface QueryAppDependencies {
  /** The read pool (pg.Pool): every read is one statement. */
  readonly db: Queryable;
  readonly log: Logger;
  readonly metrics: QueryMetrics;
  readonly waiter: CheckpointWaiter;
  readonly barrier: BarrierClient;
  /** LEDGER_SHARDS. */
  readonly shards: number;
  /** Eventual reads kept in memory until their shard's checkpoint moves (read-cache.ts); 0 turns it off. */
  readonly readCacheEntries?: number;
}

const ShardHealth = Type.Object({
  shard: Type.Integer(),
  checkpointSeq: Type.Integer({ description: 'live projection checkpoint' }),
  secondsSinceCheckpointMoved: Type.Number({ description: 'now − the checkpoint row\'s updated_at (Postgres clock)' }),
});
const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  component: Type.Literal('query-api'),
  database: Type.Boolean({ description: 'Postgres answered' }),
  listening: Type.Boolean({ description: 'the LISTEN ledger_checkpoint connection is up (consistent reads need it)' }),
  liveVersion: Type.Union([Type.String(), Type.Null()]),
  projection: Type.Array(ShardHealth),
  waiting: Type.Integer({ description: 'reads waiting for the projection now' }),
});

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
  return { error: 'invalid_request', message, field };
}

declare module 'fastify' {
  interface FastifyRequest {
    consistency?: string;
  }
}

const consistencyResponses = {
  400: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse, 504: TimeoutResponse,
};

export async function buildQueryApp(dependencies: QueryAppDependencies): Promise<HttpApp> {
  const { db, log, metrics, waiter, barrier, shards } = dependencies;
  const cache = new ReadCache(waiter, dependencies.readCacheEntries ?? readCacheEntriesDefault);
  const app = createHttpApp({ log });
  const services = { waiter, barrier, shards };

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Ledger query API', version: '1.0.0',
        description: 'Balances and history from the projection. Every answer says what it reflects (asOf, X-Consistency-Token). '
          + 'Per request: consistency=eventual (default) | strong, read-your-writes with minSeq or the X-Consistency-Token header, bounded by timeoutMs.',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.decorateRequest('consistency', undefined);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    metrics.requestDurationSeconds.observe({ route, consistency: request.consistency ?? 'none', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.get('/health', { schema: { response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    const checkpoints = await db.query<{ shard: number; seq: string; age: string }>({
      name: 'query-api-health', text: 'SELECT shard, seq, extract(epoch FROM now() - updated_at)::float8::text AS age FROM ledger.checkpoints ORDER BY shard',
    }).then((result) => result.rows, () => undefined);
    const database = checkpoints !== undefined;
    const listening = waiter.connected;
    return reply.status(database ? 200 : 503).send({
      status: database && listening ? 'ok' : 'degraded',
      component: 'query-api',
      database,
      listening,
      liveVersion: waiter.liveVersion ?? null,
      projection: (checkpoints ?? []).map((row) => ({ shard: row.shard, checkpointSeq: Number(row.seq), secondsSinceCheckpointMoved: Math.max(0, Number(row.age)) })),
      waiting: waiter.waiting,
    });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  /** Parses the consistency parameters; answers 400 itself and returns undefined when they are bad. */
  function requirementOf(request: FastifyRequest, query: ConsistencyQuery, reply: FastifyReply): ReadRequirement | undefined {
    const parsed = parseReadRequirement({
      consistency: query.consistency, minSeq: query.minSeq, timeoutMs: query.timeoutMs, token: request.headers[consistencyTokenHeader],
    });
    if (!parsed.ok) {
      void reply.status(400).send(badField(parsed.field, parsed.message));
      return undefined;
    }
    request.consistency = consistencyLabel(parsed.requirement);
    return parsed.requirement;
  }

  async function answer<T extends { readonly asOf: AsOf }>(reply: FastifyReply, requirement: ReadRequirement, read: () => Promise<ReadResult<T>>, cacheKey?: string) {
    const cacheable = cacheKey !== undefined && requirement.level === 'eventual' && requirement.floors.length === 0;
    if (cacheable) {
      const cached = cache.get<T>(cacheKey);
      metrics.readCacheLookups.inc({ outcome: cached === undefined ? 'miss' : 'hit' });
      if (cached !== undefined) return reply.header(consistencyTokenHeader, formatConsistencyToken(cached.asOf)).send(cached);
    }
    const outcome = await consistentRead(services, requirement, read);
    if (cacheable && outcome.kind === 'ok') cache.set(cacheKey, outcome.value);
    switch (outcome.kind) {
      case 'ok':
        return reply.header(consistencyTokenHeader, formatConsistencyToken(outcome.value.asOf)).send(outcome.value);
      case 'not_found':
        return reply.status(404).send(describe(outcome.error));
      case 'timeout':
        if (outcome.asOf !== null) reply.header(consistencyTokenHeader, formatConsistencyToken(outcome.asOf));
        return reply.status(504).send({ error: 'consistency_timeout', message: outcome.message, asOf: outcome.asOf });
      case 'unavailable':
        return reply.status(503).header('retry-after', String(outcome.retryAfterSeconds)).send({ error: outcome.code, message: outcome.message });
      default: {
        const _exhaustive: never = outcome;
        throw new Error(`unknown outcome ${JSON.stringify(_exhaustive)}`);
      }
    }
  }

  app.get('/v1/accounts/:id', {
    schema: {
      summary: 'An account: counters, balance (credits posted − debits posted) and what the answer reflects',
      params: IdParams, querystring: ConsistencyQuery, headers: ConsistencyHeaders, response: { 200: AccountResponse, ...consistencyResponses },
    },
  }, async (request, reply) => {
    const requirement = requirementOf(request, request.query, reply);
    if (requirement === undefined) return reply;
    return answer(reply, requirement, () => readAccount(db, request.params.id), `account:${request.params.id}`);
  });

  app.get('/v1/transfers/:id', {
    schema: {
      summary: 'A transfer: accounts, amount, status (posted, pending, voided, expired), the seq that created it',
      params: IdParams, querystring: ConsistencyQuery, headers: ConsistencyHeaders, response: { 200: TransferResponse, ...consistencyResponses },
    },
  }, async (request, reply) => {
    const requirement = requirementOf(request, request.query, reply);
    if (requirement === undefined) return reply;
    return answer(reply, requirement, () => readTransfer(db, request.params.id), `transfer:${request.params.id}`);
  });

  app.get('/v1/accounts/:id/transfers', {
    schema: {
      summary: 'An account\'s entries, newest first, each with the balance after it; keyset pagination with nextCursor',
      params: IdParams, querystring: EntriesQuery, headers: ConsistencyHeaders, response: { 200: EntriesPage, ...consistencyResponses },
    },
  }, async (request, reply) => {
    const limit = request.query.limit === undefined ? pageLimitDefault : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > pageLimitMax) return reply.status(400).send(badField('querystring.limit', `querystring.limit must be an integer from 1 to ${pageLimitMax}`));
    let beforeSeq: bigint | undefined;
    if (request.query.cursor !== undefined) {
      const cursor = decodeCursor(request.query.cursor);
      if (!cursor.ok) return reply.status(400).send(badField('querystring.cursor', 'querystring.cursor is not a cursor this API issued'));
      beforeSeq = cursor.seq;
    }
    const requirement = requirementOf(request, request.query, reply);
    if (requirement === undefined) return reply;
    return answer(reply, requirement, () => readEntriesPage(db, { accountId: request.params.id, limit, beforeSeq }));
  });

  return app;
}
