/** The query API (DESIGN.md §7). Built without listening; query-api/server.ts listens. */
import Type from 'typebox';
import { sql, type Kysely } from 'kysely';
import { createHttpApp, type HttpApp } from '../common/http/create-app.ts';
import type { Logger } from '../common/logger.ts';

export interface QueryAppDependencies {
  readonly db: Kysely<unknown>;
  readonly log: Logger;
}

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  component: Type.Literal('query-api'),
  database: Type.Boolean(),
});

export function buildQueryApp({ db, log }: QueryAppDependencies): HttpApp {
  const app = createHttpApp({ log });
  app.get('/health', { schema: { response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    const database = await sql`SELECT 1`.execute(db).then(() => true, () => false);
    return reply.status(database ? 200 : 503).send({ status: database ? 'ok' : 'degraded', component: 'query-api', database });
  });
  return app;
}
