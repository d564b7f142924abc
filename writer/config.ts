/** The writer node's configuration: environment variables → typed, validated values. */
import Type from 'typebox';
import { ConfigError, Port, loadConfig, parseKeyedList, setting, type ConfigOf } from '../common/config.ts';
import { parsePublisherFailpoint } from './publisher/publisher-supervisor.ts';
import { kafkaBrokersSetting, kafkaTopicSetting, logLevelSetting, shardsSetting } from '../common/settings.ts';

const NodeId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' });

export const writerSettings = {
  nodeId: setting({ env: 'WRITER_NODE_ID', schema: NodeId, description: "this node's id; must be one of WRITER_PEERS' ids" }),
  httpHost: setting({ env: 'WRITER_HTTP_HOST', schema: Type.String({ minLength: 1 }), default: '127.0.0.1', description: 'client HTTP listen address' }),
  httpPort: setting({ env: 'WRITER_HTTP_PORT', schema: Port, default: '7001', description: 'client HTTP port' }),
  peerHost: setting({ env: 'WRITER_PEER_HOST', schema: Type.String({ minLength: 1 }), default: '127.0.0.1', description: 'Raft peer listen address' }),
  peerPort: setting({ env: 'WRITER_PEER_PORT', schema: Port, default: '7101', description: 'Raft peer port' }),
  peers: setting({
    env: 'WRITER_PEERS', schema: Type.Record(NodeId, Type.String({ pattern: '^[^:\\s]+:\\d{1,5}$' })),
    default: '1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103', parse: parseKeyedList,
    description: 'the cluster: id=host:peerPort for every voter, this node included',
  }),
  clientUrls: setting({
    env: 'WRITER_CLIENT_URLS', schema: Type.Record(NodeId, Type.String({ pattern: '^https?://' })),
    default: '1=http://127.0.0.1:7001,2=http://127.0.0.1:7002,3=http://127.0.0.1:7003', parse: parseKeyedList,
    description: "id=http://host:port of every node's client API (followers forward to the leader)",
  }),
  dataDir: setting({ env: 'WRITER_DATA_DIR', schema: Type.String({ minLength: 1 }), default: '.data/writer', description: "this node's Raft log and snapshots" }),
  clusterId: setting({ env: 'WRITER_CLUSTER_ID', schema: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }), default: 'ledger-local', description: 'id of this Raft cluster; a data directory or peer of another cluster is refused' }),
  bootstrap: setting({
    env: 'WRITER_BOOTSTRAP', schema: Type.Boolean(), default: 'false',
    description: 'true only when creating a brand-new cluster: a node with an empty data directory then starts as a voter; otherwise it joins as a non-voter',
  }),
  shard: setting({ env: 'WRITER_SHARD', schema: Type.Integer({ minimum: 0, maximum: 63 }), default: '0', description: 'the shard this Raft group owns' }),
  shards: shardsSetting,
  kafkaBrokers: kafkaBrokersSetting,
  kafkaTopic: kafkaTopicSetting,
  publisher: setting({
    env: 'WRITER_PUBLISHER', schema: Type.Union([Type.Literal('on'), Type.Literal('off')]), default: 'on',
    description: 'on: the leader publishes committed events to Kafka and the log is compacted only up to the published watermark; off: no publisher, compaction not held back (/v1/cluster shows publisher.state "off")',
  }),
  topicReplicationFactor: setting({
    env: 'WRITER_TOPIC_REPLICATION_FACTOR', schema: Type.Integer({ minimum: 1, maximum: 16 }), default: '1',
    description: 'replication factor the publisher creates the events topic with when it is missing (partitions = LEDGER_SHARDS)',
  }),
  snapshotEveryEntries: setting({
    env: 'WRITER_SNAPSHOT_EVERY_ENTRIES', schema: Type.Integer({ minimum: 16, maximum: 10_000_000 }), default: '20000',
    description: 'take a snapshot (and compact the log up to the published watermark) after this many applied entries, once they also add up to half the size of the last snapshot',
  }),
  snapshotEveryBytes: setting({
    env: 'WRITER_SNAPSHOT_EVERY_BYTES', schema: Type.Integer({ minimum: 1_048_576, maximum: 68_719_476_736 }), default: '268435456',
    description: 'or after this many bytes of applied entries, whichever comes first (the Raft log is held in memory until a snapshot compacts it)',
  }),
  electionTimeoutMs: setting({
    env: 'WRITER_ELECTION_TIMEOUT_MS', schema: Type.Integer({ minimum: 100, maximum: 60_000 }), default: '1000',
    description: 'a follower that hears nothing from the leader for a random time between this and twice this campaigns (heartbeats go every 30 ms); keep it well above the longest pause a busy node shows',
  }),
  failpoint: setting({
    env: 'WRITER_FAILPOINT', schema: Type.Object({ killAfterCommittedTransactions: Type.Integer({ minimum: 1 }) }), optional: true, parse: parsePublisherFailpoint,
    description: 'TEST ONLY: publisher-after-commit:<n> SIGKILLs the node right after its n-th committed Kafka transaction, before the watermark is proposed',
  }),
  logLevel: logLevelSetting,
};

export type WriterConfig = ConfigOf<typeof writerSettings>;

export function loadWriterConfig(env: Readonly<Record<string, string | undefined>> = process.env): WriterConfig {
  const config = loadConfig(writerSettings, env);
  const problems: string[] = [];
  if (!(config.nodeId in config.peers)) problems.push(`WRITER_NODE_ID=${config.nodeId} is not one of WRITER_PEERS (${Object.keys(config.peers).join(', ')})`);
  const peerIds = Object.keys(config.peers).sort().join(',');
  if (Object.keys(config.clientUrls).sort().join(',') !== peerIds) problems.push(`WRITER_CLIENT_URLS must name the same ids as WRITER_PEERS (${peerIds})`);
  if (config.shard >= config.shards) problems.push(`WRITER_SHARD=${config.shard} must be below LEDGER_SHARDS=${config.shards}`);
  if (config.failpoint !== undefined && config.publisher === 'off') problems.push('WRITER_FAILPOINT needs WRITER_PUBLISHER=on (it fires after a Kafka transaction)');
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
