import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { ConfigError, Port, loadConfig, parseBrokers, parseKeyedList, parsePostgresUrl, setting } from './config.ts';

const settings = {
  port: setting({ env: 'TEST_PORT', schema: Port, default: '8080', description: 'a port' }),
  name: setting({ env: 'TEST_NAME', schema: Type.String({ minLength: 2 }), description: 'a required name' }),
  database: setting({ env: 'TEST_DATABASE_URL', schema: Type.String(), parse: parsePostgresUrl, optional: true, description: 'optional url' }),
  peers: setting({ env: 'TEST_PEERS', schema: Type.Record(Type.String(), Type.String()), default: 'a=1', parse: parseKeyedList, description: 'peers' }),
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(settings, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('converts values, applies defaults and leaves optional settings undefined', () => {
    expect(loadConfig(settings, { TEST_NAME: 'ledger', TEST_PORT: '9000' })).toEqual({ port: 9000, name: 'ledger', database: undefined, peers: { a: '1' } });
  });

  it('names every bad or missing variable at once', () => {
    const problems = problemsOf({ TEST_PORT: '70000', TEST_DATABASE_URL: 'mysql://x/y' });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^TEST_PORT="70000": /);
    expect(problems[1]).toMatch(/^TEST_NAME is required/);
    expect(problems[2]).toMatch(/^TEST_DATABASE_URL="mysql:\/\/x\/y": has protocol mysql:/);
  });

  it('rejects a non-numeric port and a too-short string', () => {
    expect(problemsOf({ TEST_NAME: 'x', TEST_PORT: 'eighty' }).map((problem) => problem.split('=')[0])).toEqual(['TEST_PORT', 'TEST_NAME']);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(settings, { TEST_NAME: 'ledger', TEST_PORT: '' }).port).toBe(8080);
  });
});

describe('list parsers', () => {
  it('parses id=value lists and rejects repeats and malformed entries', () => {
    expect(parseKeyedList('1=a:1, 2=b:2')).toEqual({ 1: 'a:1', 2: 'b:2' });
    expect(() => parseKeyedList('1=a,1=b')).toThrow('id "1" appears twice');
    expect(() => parseKeyedList('1=a,b')).toThrow('entry "b" is not of the form id=value');
  });

  it('parses broker lists and rejects entries without a valid port', () => {
    expect(parseBrokers('127.0.0.1:9092, kafka:9093')).toEqual(['127.0.0.1:9092', 'kafka:9093']);
    expect(() => parseBrokers('kafka')).toThrow('broker "kafka" is not host:port');
    expect(() => parseBrokers('kafka:99999')).toThrow('broker "kafka:99999" is not host:port');
    expect(() => parseBrokers(' , ')).toThrow('lists no broker');
  });

  it('accepts only postgres URLs that name a database', () => {
    expect(parsePostgresUrl('postgres://u@h:5432/db')).toBe('postgres://u@h:5432/db');
    expect(() => parsePostgresUrl('postgres://u@h:5432')).toThrow('names no database');
    expect(() => parsePostgresUrl('not a url')).toThrow('is not a URL');
  });
});
