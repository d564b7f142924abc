/**
 * The writer node's client HTTP API (DESIGN.md §4). Built without listening so tests can use
 * `app.inject()`; writer/server.ts listens.
 */
import Type from 'typebox';
import { createHttpApp, type HttpApp } from '../../common/http/create-app.ts';
import type { Logger } from '../../common/logger.ts';
import type { WriterConfig } from '../config.ts';

export interface WriterAppDependencies {
  readonly config: WriterConfig;
  readonly log: Logger;
}

const HealthResponse = Type.Object({
  status: Type.Literal('ok'),
  component: Type.Literal('writer'),
  nodeId: Type.String(),
  shard: Type.Integer(),
});

export function buildWriterApp({ config, log }: WriterAppDependencies): HttpApp {
  const app = createHttpApp({ log });
  app.get('/health', { schema: { response: { 200: HealthResponse } } }, async () => ({
    status: 'ok' as const,
    component: 'writer' as const,
    nodeId: config.nodeId,
    shard: config.shard,
  }));
  return app;
}
