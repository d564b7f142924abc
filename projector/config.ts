/** The projector's configuration: environment variables → typed, validated values. */
import Type from 'typebox';
import { Port, loadConfig, setting, type ConfigOf } from '../common/config.ts';
import { databaseUrlSetting, kafkaBrokersSetting, kafkaTopicSetting, logLevelSetting, shardsSetting } from '../common/settings.ts';
import { eventsPerBatchMax } from './batch-apply.ts';
import { postgresOutageMsMaxDefault } from './projection-consumer.ts';

export const projectorSettings = {
  databaseUrl: databaseUrlSetting,
  kafkaBrokers: kafkaBrokersSetting,
  kafkaTopic: kafkaTopicSetting,
  shards: shardsSetting,
  httpHost: setting({ env: 'PROJECTOR_HTTP_HOST', schema: Type.String({ minLength: 1 }), default: '127.0.0.1', description: 'health/metrics listen address' }),
  httpPort: setting({ env: 'PROJECTOR_HTTP_PORT', schema: Port, default: '8090', description: 'health/metrics port' }),
  groupId: setting({
    env: 'PROJECTOR_GROUP_ID', schema: Type.String({ pattern: '^[A-Za-z0-9._-]{1,200}$' }), default: 'ledger-projector',
    description: 'Kafka consumer group of the ledger projection (positions live in Postgres, not in the group)',
  }),
  eventsPerBatch: setting({
    env: 'PROJECTOR_EVENTS_PER_BATCH', schema: Type.Integer({ minimum: 1, maximum: eventsPerBatchMax }), default: String(eventsPerBatchMax),
    description: `events applied per Postgres transaction, at most (1..${eventsPerBatchMax})`,
  }),
  postgresOutageMs: setting({
    env: 'PROJECTOR_POSTGRES_OUTAGE_MS', schema: Type.Integer({ minimum: 0, maximum: 3_600_000 }), default: String(postgresOutageMsMaxDefault),
    description: 'after a batch failed on a lost Postgres connection, how long to wait for Postgres to answer again (then exit; 0 = exit at once)',
  }),
  biPassword: setting({
    env: 'LEDGER_BI_PASSWORD', schema: Type.String({ minLength: 1 }), optional: true,
    description: 'password the projector gives the read-only BI role ledger_bi at start; unset: ledger_bi cannot log in',
  }),
  logLevel: logLevelSetting,
};

export type ProjectorConfig = ConfigOf<typeof projectorSettings>;

export function loadProjectorConfig(env: Readonly<Record<string, string | undefined>> = process.env): ProjectorConfig {
  return loadConfig(projectorSettings, env);
}
