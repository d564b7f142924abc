/**
 * Environment variables → typed, schema-validated configuration.
 *
 * Every process declares its settings as a table of `Setting`s: the variable's name, a TypeBox
 * schema for the converted value, an optional default and a one-line description (the README's
 * configuration table and the docker-compose check read the same tables). `loadConfig` returns the
 * typed values or throws a `ConfigError` naming every bad variable, before anything starts
 * (STYLE.md: config errors are returned at start-up).
 */
import Type, { type Static, type TSchema } from 'typebox';
import Value from 'typebox/value';

export interface Setting<S extends TSchema = TSchema> {
  readonly env: string;
  readonly schema: S;
  /** Raw (string) default; absent means the variable is required unless `optional`. */
  readonly default?: string;
  /** Unset is allowed and yields `undefined` (e.g. DATABASE_URL: unset means "embedded"). */
  readonly optional?: boolean;
  readonly description: string;
  /** Turns the raw string into the value the schema checks; default: TypeBox conversion. */
  readonly parse?: (raw: string) => unknown;
}

export type Settings = Readonly<Record<string, Setting>>;

export type ConfigOf<T extends Settings> = {
  readonly [K in keyof T]: T[K] extends { optional: true } ? Static<T[K]['schema']> | undefined : Static<T[K]['schema']>;
};

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function setting<S extends TSchema>(definition: Setting<S>): Setting<S> {
  return definition;
}

export function loadConfig<T extends Settings>(
  settings: T,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConfigOf<T> {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(settings)) {
    const given = env[definition.env];
    const raw = given === undefined || given === '' ? definition.default : given;
    if (raw === undefined && definition.optional) {
      config[key] = undefined;
      continue;
    }
    if (raw === undefined) {
      problems.push(`${definition.env} is required (${definition.description})`);
      continue;
    }
    let value: unknown;
    try {
      value = definition.parse ? definition.parse(raw) : Value.Convert(definition.schema, raw);
    } catch (error) {
      problems.push(`${definition.env}=${JSON.stringify(raw)}: ${(error as Error).message}`);
      continue;
    }
    if (!Value.Check(definition.schema, value)) {
      const first = Value.Errors(definition.schema, value)[0];
      const reason = first === undefined ? 'does not match its schema' : `${first.message}${first.instancePath ? ` at ${first.instancePath}` : ''}`;
      problems.push(`${definition.env}=${JSON.stringify(raw)}: ${reason} (${definition.description})`);
      continue;
    }
    config[key] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as ConfigOf<T>;
}

/** Frequently used setting schemas. */
export const Port = Type.Integer({ minimum: 1, maximum: 65535 });
export const LogLevel = Type.Union([
  Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'),
  Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent'),
]);

/** `a,b,c` → ['a','b','c'] with blanks dropped. */
export function parseList(raw: string): string[] {
  return raw.split(',').map((part) => part.trim()).filter((part) => part.length > 0);
}

/** `1=x,2=y` → { '1': 'x', '2': 'y' }; throws on an entry without `=` or a repeated key. */
export function parseKeyedList(raw: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const entry of parseList(raw)) {
    const at = entry.indexOf('=');
    if (at <= 0 || at === entry.length - 1) throw new Error(`entry "${entry}" is not of the form id=value`);
    const key = entry.slice(0, at).trim();
    if (key in result) throw new Error(`id "${key}" appears twice`);
    result[key] = entry.slice(at + 1).trim();
  }
  return result;
}

export function parseUrl(raw: string): string {
  const url = new URL(raw); // throws "Invalid URL"
  return url.toString();
}

export function parsePostgresUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('is not a URL (expected postgres://user@host:port/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`has protocol ${url.protocol} (expected postgres:)`);
  }
  if (url.pathname.length <= 1) throw new Error('names no database (expected postgres://user@host:port/database)');
  return raw;
}

/** `host:port,host:port` → list, each checked. */
export function parseBrokers(raw: string): string[] {
  const brokers = parseList(raw);
  if (brokers.length === 0) throw new Error('lists no broker');
  for (const broker of brokers) {
    const match = /^([^:\s]+):(\d{1,5})$/.exec(broker);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new Error(`broker "${broker}" is not host:port`);
    }
  }
  return brokers;
}
