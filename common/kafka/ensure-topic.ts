/**
 * Creates the events topic with an explicit partition count (one per shard) and infinite
 * retention, or checks that an existing one has at least that many partitions.
 */
import type { Admin } from 'kafkajs';
import type { Logger } from '../logger.ts';

export const eventsTopicDefault = 'ledger.events.v1';

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

export async function ensureTopic(admin: Admin, spec: TopicSpec, log: Logger): Promise<void> {
  const existing = await admin.fetchTopicMetadata({ topics: [] });
  const found = existing.topics.find((topic) => topic.name === spec.topic);
  if (found) {
    if (found.partitions.length < spec.partitions) {
      throw new Error(`topic ${spec.topic} has ${found.partitions.length} partitions but ${spec.partitions} shards are configured`);
    }
    return;
  }
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{
      topic: spec.topic,
      numPartitions: spec.partitions,
      replicationFactor: spec.replicationFactor,
      configEntries: [
        { name: 'retention.ms', value: '-1' },
        { name: 'retention.bytes', value: '-1' },
        { name: 'cleanup.policy', value: 'delete' },
      ],
    }],
  });
  log.info({ topic: spec.topic, partitions: spec.partitions }, 'created topic');
}
