/** The query API's configuration: environment variables → typed, validated values. */
import Type from 'typebox';
import { Port, loadConfig, parseList, parseUrl, setting, type ConfigOf } from '../common/config.ts';
import { databaseUrlSetting, logLevelSetting, shardsSetting } from '../common/settings.ts';

export const queryApiSettings = {
  databaseUrl: databaseUrlSetting,
  httpHost: setting({ env: 'QUERY_HTTP_HOST', schema: Type.String({ minLength: 1 }), default: '127.0.0.1', description: 'query API listen address' }),
  httpPort: setting({ env: 'QUERY_HTTP_PORT', schema: Port, default: '8080', description: 'query API port' }),
  writerUrls: setting({
    env: 'WRITER_URLS', schema: Type.Array(Type.String({ pattern: '^https?://' }), { minItems: 1, maxItems: 16 }),
    default: 'http://127.0.0.1:7001,http://127.0.0.1:7002,http://127.0.0.1:7003',
    parse: (raw) => parseList(raw).map(parseUrl),
    description: "writer nodes' client URLs, for consistent-read barriers",
  }),
  shards: shardsSetting,
  databasePoolSizeMax: setting({
    env: 'QUERY_DATABASE_POOL_SIZE', schema: Type.Integer({ minimum: 1, maximum: 200 }), default: '16',
    description: 'Postgres connections for reads (one more is used for LISTEN)',
  }),
  barrierTimeoutMs: setting({
    env: 'QUERY_BARRIER_TIMEOUT_MS', schema: Type.Integer({ minimum: 50, maximum: 30_000 }), default: '2000',
    description: 'bound of one barrier attempt against one writer URL (strong reads)',
  }),
  readCacheEntries: setting({
    env: 'QUERY_READ_CACHE_ENTRIES', schema: Type.Integer({ minimum: 0, maximum: 10_000_000 }), default: '100000',
    description: 'eventual reads kept in memory until their shard\'s projection checkpoint moves (0 turns the cache off)',
  }),
  logLevel: logLevelSetting,
};

export type QueryApiConfig = ConfigOf<typeof queryApiSettings>;

export function loadQueryApiConfig(env: Readonly<Record<string, string | undefined>> = process.env): QueryApiConfig {
  return loadConfig(queryApiSettings, env);
}
