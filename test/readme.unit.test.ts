/** The README's configuration section must name every variable the processes read. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectorSettings } from '../projector/config.ts';
import { queryApiSettings } from '../query-api/config.ts';
import { startSettings } from '../platform/start-config.ts';
import { writerSettings } from '../writer/config.ts';
import { repositoryRoot } from './support/processes.ts';

const readme = readFileSync(path.join(repositoryRoot, 'README.md'), 'utf8');

describe('README', () => {
  it('documents every environment variable of every process', () => {
    const variables = [startSettings, writerSettings, projectorSettings, queryApiSettings]
      .flatMap((settings) => Object.values(settings).map((definition) => definition.env));
    const missing = [...new Set(variables)].filter((variable) => !readme.includes(`\`${variable}\``));
    expect(missing).toEqual([]);
  });

  it('has a quick start of exactly the two commands', () => {
    const quickStart = readme.split('## Quick start')[1]?.split('```')[1];
    const lines = quickStart?.split('\n').slice(1).map((line) => line.trim()).filter(Boolean); // first line: the fence's language
    expect(lines).toEqual(['npm install && npm start', 'npm test']);
  });
});
