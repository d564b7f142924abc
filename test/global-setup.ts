/**
 * Vitest global setup for the integration tier: starts (or finds) real Kafka and Postgres once
 * for the run and hands their addresses to the test files through `inject()`. Each test file then
 * makes its own database and topic names (test/support/isolation.ts) so files can run in parallel.
 */
import type { TestProject } from 'vitest/node';
import { createLogger } from '../common/logger.ts';
import { startTestServices } from './support/services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = createLogger('test-setup', (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'error');
  const started = Date.now();
  let services;
  try {
    services = await startTestServices(log);
  } catch (error) {
    throw new Error(
      `integration tests need real Kafka and Postgres and could not get them: ${(error as Error).message}\n` +
        'Provide them with KAFKA_BROKERS / DATABASE_URL, a Docker engine (Testcontainers), or Java 17 + Maven (local Kafka) and a Postgres on 127.0.0.1:5432.',
      { cause: error },
    );
  }
  console.log(`[test setup] ${services.description} (ready in ${Date.now() - started} ms)`);
  project.provide('kafkaBrokers', services.kafkaBrokers);
  project.provide('databaseUrl', services.databaseUrl);
  return async () => {
    await services.stop();
  };
}
