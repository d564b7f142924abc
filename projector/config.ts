/** The projector's configuration: environment variables → typed, validated values. */
import Type from 'typebox';
import { Port, loadConfig, setting, type ConfigOf } from '../common/config.ts';
import { databaseUrlSetting, kafkaBrokersSetting, kafkaTopicSetting, logLevelSetting, shardsSetting } from '../common/settings.ts';

export const projectorSettings = {
  databaseUrl: databaseUrlSetting,
  kafkaBrokers: kafkaBrokersSetting,
  kafkaTopic: kafkaTopicSetting,
  shards: shardsSetting,
  httpHost: setting({ env: 'PROJECTOR_HTTP_HOST', schema: Type.String({ minLength: 1 }), default: '127.0.0.1', description: 'health/metrics listen address' }),
  httpPort: setting({ env: 'PROJECTOR_HTTP_PORT', schema: Port, default: '8090', description: 'health/metrics port' }),
  logLevel: logLevelSetting,
};

export type ProjectorConfig = ConfigOf<typeof projectorSettings>;

export function loadProjectorConfig(env: Readonly<Record<string, string | undefined>> = process.env): ProjectorConfig {
  return loadConfig(projectorSettings, env);
}
