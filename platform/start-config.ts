/** Configuration of `npm start` (the local supervisor), from environment variables. */
import Type from 'typebox';
import { Port, loadConfig, parseBrokers, parsePostgresUrl, setting, type ConfigOf } from '../common/config.ts';
import { kafkaTopicSetting, logLevelSetting, shardsSetting } from '../common/settings.ts';

export const startSettings = {
  dataDir: setting({ env: 'LEDGER_DATA_DIR', schema: Type.String({ minLength: 1 }), default: '.data', description: 'everything `npm start` stores: Raft logs, Kafka, embedded Postgres' }),
  kafkaBrokers: setting({
    env: 'KAFKA_BROKERS', schema: Type.Array(Type.String(), { minItems: 1 }), parse: parseBrokers, optional: true,
    description: 'use this Kafka instead of starting the local broker',
  }),
  kafkaPort: setting({ env: 'KAFKA_PORT', schema: Port, default: '9092', description: 'port of the local Kafka broker' }),
  kafkaControllerPort: setting({ env: 'KAFKA_CONTROLLER_PORT', schema: Port, default: '9093', description: 'KRaft controller port of the local broker' }),
  kafkaTopic: kafkaTopicSetting,
  databaseUrl: setting({
    env: 'DATABASE_URL', schema: Type.String({ minLength: 1 }), parse: parsePostgresUrl, optional: true,
    description: 'use this Postgres instead of starting the embedded one',
  }),
  embeddedPostgresPort: setting({ env: 'EMBEDDED_POSTGRES_PORT', schema: Port, default: '5433', description: 'port of the embedded Postgres (only when it is started)' }),
  writerNodes: setting({ env: 'WRITER_NODES', schema: Type.Integer({ minimum: 1, maximum: 7 }), default: '3', description: 'number of writer nodes to run' }),
  writerHttpPortBase: setting({ env: 'WRITER_HTTP_PORT_BASE', schema: Port, default: '7001', description: 'client port of writer node 1 (node n: base + n − 1)' }),
  writerPeerPortBase: setting({ env: 'WRITER_PEER_PORT_BASE', schema: Port, default: '7101', description: 'Raft peer port of writer node 1 (node n: base + n − 1)' }),
  queryHttpPort: setting({ env: 'QUERY_HTTP_PORT', schema: Port, default: '8080', description: 'query API port' }),
  projectorHttpPort: setting({ env: 'PROJECTOR_HTTP_PORT', schema: Port, default: '8090', description: 'projector health/metrics port' }),
  shards: shardsSetting,
  startTimeoutMs: setting({ env: 'START_TIMEOUT_MS', schema: Type.Integer({ minimum: 1_000, maximum: 600_000 }), default: '90000', description: 'how long `npm start` waits for everything to be healthy' }),
  logLevel: logLevelSetting,
};

export type StartConfig = ConfigOf<typeof startSettings>;

export function loadStartConfig(env: Readonly<Record<string, string | undefined>> = process.env): StartConfig {
  return loadConfig(startSettings, env);
}
