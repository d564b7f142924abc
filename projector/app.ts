/**
 * The projector's HTTP surface, built without listening (main.ts listens): GET /health (database
 * reachable, partitions stopped) and GET /metrics (Prometheus text).
 *
 * /health answers 200 while the database is reachable, with status `degraded` and the stopped
 * partitions (shard, seq, code, reason) listed when any is stopped — the process is alive and the
 * other partitions progress, so a supervisor must not restart it; 503 when the database is not.
 */
import Type from 'typebox';
import { sql, type Kysely } from 'kysely';
import { createHttpApp, type HttpApp } from '../common/http/create-app.ts';
import type { Logger } from '../common/logger.ts';
import type { ProjectorMetrics } from './metrics.ts';
import type { PartitionStatus } from './projection-consumer.ts';

export interface ProjectorAppDependencies {
  readonly db: Kysely<unknown>;
  readonly log: Logger;
  readonly metrics: ProjectorMetrics;
  readonly partitions: () => PartitionStatus[];
}

const Stop = Type.Object({
  shard: Type.Integer(), seq: Type.Union([Type.Integer(), Type.Null()]), offset: Type.String(), code: Type.String(), reason: Type.String(),
});
const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  component: Type.Literal('projector'),
  database: Type.Boolean(),
  partitions: Type.Array(Type.Object({ shard: Type.Integer(), checkpointSeq: Type.Union([Type.Integer(), Type.Null()]), stopped: Type.Boolean() })),
  stoppedPartitions: Type.Array(Stop),
});

export function buildProjectorApp({ db, log, metrics, partitions }: ProjectorAppDependencies): HttpApp {
  const app = createHttpApp({ log });
  app.get('/health', { schema: { response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    const database = await sql`SELECT 1`.execute(db).then(() => true, () => false);
    const current = partitions();
    const stopped = current.flatMap((partition) => (partition.stop === undefined ? [] : [{ ...partition.stop, seq: partition.stop.seq ?? null }]));
    return reply.status(database ? 200 : 503).send({
      status: database && stopped.length === 0 ? 'ok' : 'degraded',
      component: 'projector',
      database,
      partitions: current.map((partition) => ({ shard: partition.shard, checkpointSeq: partition.checkpointSeq ?? null, stopped: partition.stop !== undefined })),
      stoppedPartitions: stopped,
    });
  });
  app.get('/metrics', async (_request, reply) => {
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return app;
}
