/** Settings several processes share, so each variable means the same everywhere. */
import Type from 'typebox';
import { LogLevel, parseBrokers, parsePostgresUrl, setting } from './config.ts';
import { eventsTopicDefault } from './kafka/ensure-topic.ts';

export const logLevelSetting = setting({ env: 'LOG_LEVEL', schema: LogLevel, default: 'info', description: 'pino log level' });

export const kafkaBrokersSetting = setting({
  env: 'KAFKA_BROKERS', schema: Type.Array(Type.String(), { minItems: 1 }), default: '127.0.0.1:9092', parse: parseBrokers,
  description: 'Kafka bootstrap brokers, host:port[,host:port]',
});

export const kafkaTopicSetting = setting({
  env: 'KAFKA_TOPIC', schema: Type.String({ pattern: '^[A-Za-z0-9._-]{1,249}$' }), default: eventsTopicDefault,
  description: 'topic the ledger events are published to (one partition per shard)',
});

export const databaseUrlSetting = setting({
  env: 'DATABASE_URL', schema: Type.String({ minLength: 1 }), parse: parsePostgresUrl,
  description: 'Postgres connection URL, postgres://user:password@host:port/database',
});

export const shardsSetting = setting({
  env: 'LEDGER_SHARDS', schema: Type.Integer({ minimum: 1, maximum: 64 }), default: '1',
  description: 'number of shards (Raft groups) = partitions of the events topic',
});
