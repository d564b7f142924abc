/**
 * No Docker engine runs on the development machines, so docker-compose.yml is checked here: it
 * parses, names every service of the topology, every env var it gives our processes exists in that
 * process's config schema, and each process's config accepts the values it is given.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, type Settings } from '../common/config.ts';
import { projectorSettings } from '../projector/config.ts';
import { queryApiSettings } from '../query-api/config.ts';
import { loadWriterConfig, writerSettings } from '../writer/config.ts';
import { repositoryRoot } from './support/processes.ts';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test?: unknown };
}

const compose = parse(readFileSync(path.join(repositoryRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };

const scriptSettings: Record<string, Settings> = {
  'writer/server.ts': writerSettings,
  'projector/main.ts': projectorSettings,
  'query-api/server.ts': queryApiSettings,
};

function environmentOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value)]));
}

describe('docker-compose.yml', () => {
  it('has the whole topology: Kafka 3.9 (KRaft), Postgres 16, three writers, projector and query API, each with a healthcheck', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['kafka', 'postgres', 'projector', 'query-api', 'writer-1', 'writer-2', 'writer-3']);
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:3\.9\./);
    expect(environmentOf(compose.services.kafka!).KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(compose.services.postgres?.image).toMatch(/^postgres:16/);
    for (const service of Object.values(compose.services)) expect(service.healthcheck?.test).toBeDefined();
  });

  it('builds every process of ours from the one Dockerfile, whose base image is Node 24', () => {
    const ours = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);
    expect(ours.map(([name]) => name).sort()).toEqual(['projector', 'query-api', 'writer-1', 'writer-2', 'writer-3']);
    expect(readFileSync(path.join(repositoryRoot, 'Dockerfile'), 'utf8')).toMatch(/^FROM node:24/m);
  });

  for (const [name, service] of Object.entries(compose.services).filter(([, candidate]) => candidate.build !== undefined)) {
    it(`${name}: every env var exists in its process's config schema and the values load`, () => {
      const script = service.command?.find((part) => part.endsWith('.ts'));
      expect(script, `${name} runs one of ${Object.keys(scriptSettings).join(', ')}`).toBeDefined();
      const settings = scriptSettings[script!];
      expect(settings).toBeDefined();
      const known = new Set(Object.values(settings!).map((definition) => definition.env));
      const environment = environmentOf(service);
      const unknown = Object.keys(environment).filter((variable) => !known.has(variable));
      expect(unknown).toEqual([]);
      const loaded: Record<string, unknown> = script === 'writer/server.ts' ? loadWriterConfig(environment) : loadConfig(settings!, environment);
      for (const [key, definition] of Object.entries(settings!)) {
        if (definition.env in environment) expect(loaded[key], definition.env).toBeDefined();
      }
      if (script === 'writer/server.ts') expect(loaded.nodeId).toBe(environment.WRITER_NODE_ID);
    });
  }
});
