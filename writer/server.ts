/** Entry point of one writer node process: durable log + peer transport + node + client API. */
import { randomUUID } from 'node:crypto';
import { createKafka } from '../common/kafka/client.ts';
import { createLogger } from '../common/logger.ts';
import { exitOnStartupError, exitWhenOrphaned, onShutdown } from '../common/process/shutdown.ts';
import { loadWriterConfig } from './config.ts';
import { buildWriterApp } from './http/app.ts';
import { createWriterMetrics } from './http/metrics.ts';
import { openNode } from './node/open-node.ts';
import { WriterNode, writerNodeLimitsDefault } from './node/writer-node.ts';
import { PublisherSupervisor } from './publisher/publisher-supervisor.ts';
import { PeerTransport } from './transport/peer-transport.ts';

const bootLog = createLogger('writer');
try {
  const config = loadWriterConfig();
  const log = createLogger('writer', config.logLevel, { nodeId: config.nodeId, shard: config.shard });
  const voters = Object.keys(config.peers).sort();
  const electionTicks = Math.ceil(config.electionTimeoutMs / writerNodeLimitsDefault.tickMs);
  const opened = openNode({ dataDir: config.dataDir, clusterId: config.clusterId, nodeId: config.nodeId, voters, bootstrap: config.bootstrap, log });
  const transport = new PeerTransport({
    nodeId: config.nodeId, clusterId: config.clusterId, listen: { host: config.peerHost, port: config.peerPort }, peers: config.peers, log,
  });
  const node = new WriterNode({
    nodeId: config.nodeId,
    shard: config.shard,
    storage: opened.storage,
    transport,
    log,
    idGenerator: randomUUID,
    onJoinFloor: opened.recordJoinFloor,
    limits: { snapshotEveryEntries: config.snapshotEveryEntries, snapshotEveryBytes: config.snapshotEveryBytes },
    // The leader publishes committed events to Kafka; without a publisher nothing holds compaction back.
    ...(config.publisher === 'on' ? {
      publisher: (context) => new PublisherSupervisor({
        kafka: createKafka({ clientId: `ledger-writer-${config.nodeId}`, brokers: config.kafkaBrokers, log }),
        topic: config.kafkaTopic,
        shard: config.shard,
        log,
        context,
        topicSpec: { partitions: config.shards, replicationFactor: config.topicReplicationFactor },
        ...(config.failpoint ? { failpoint: config.failpoint } : {}),
      }),
    } : {}),
    onVotingUnblocked: () => {
      opened.markVoting();
      log.info('promoted: this node votes again');
    },
    raft: {
      id: config.nodeId,
      start: opened.start,
      // One tick = 10 ms (writerNodeLimitsDefault.tickMs): elections after WRITER_ELECTION_TIMEOUT_MS
      // to twice that of silence (1–2 s by default, etcd's default is 1 s), heartbeats every 30 ms.
      // 300–600 ms caused needless elections: a leader of a busy 2-core machine stalled 0.4–1 s
      // (a major GC on a large heap plus a large request handled in one turn).
      electionTicksMin: electionTicks,
      electionTicksMax: 2 * electionTicks,
      heartbeatTicks: 3,
      committedEntriesPerReadyMax: 64,
      entriesPerMessageMax: 256,
      bytesPerMessageMax: 8 * 1024 * 1024,
      inflightMessagesMax: 16,
      snapshotChunkBytesMax: 4 * 1024 * 1024,
      random: Math.random,
    },
  });
  transport.onMessage((message) => node.receive(message));
  transport.onPeerUnreachable((peer) => node.peerUnreachable(peer));
  await transport.start();
  node.start();
  const metrics = createWriterMetrics();
  const app = buildWriterApp({
    nodeId: config.nodeId, shard: config.shard, service: node, clientUrls: config.clientUrls, log, metrics,
    storageStats: () => ({ fsyncs: opened.storage.stats.logFsyncCount, fsyncSecondsTotal: opened.storage.stats.fsyncMsTotal / 1000 }),
  });
  await app.listen({ host: config.httpHost, port: config.httpPort });
  log.info({
    url: `http://${config.httpHost}:${config.httpPort}`, peerPort: config.peerPort, start: opened.start.type,
    publisher: config.publisher === 'on' ? { brokers: config.kafkaBrokers, topic: config.kafkaTopic } : 'off',
    ...(config.failpoint ? { failpoint: config.failpoint } : {}),
  }, 'writer node listening');
  if (config.failpoint) log.warn({ failpoint: config.failpoint }, 'WRITER_FAILPOINT is set: this node will kill itself on purpose (test only)');
  exitWhenOrphaned(log);
  onShutdown(log, [() => node.stop(), () => transport.stop(), () => app.close()]);
} catch (error) {
  exitOnStartupError(bootLog, error);
}
