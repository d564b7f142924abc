/** Test and bench support: publishes envelope messages the way the writer's publisher will — a transactional producer, in seq order. */
import type { Kafka } from 'kafkajs';
import type { EnvelopeMessage } from '../../common/events/envelope.ts';

export const messagesPerTransactionMax = 2_000;

export async function createTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
  } finally {
    await admin.disconnect();
  }
}

export async function publish(kafka: Kafka, topic: string, messages: readonly EnvelopeMessage[], transactionalId: string, perTransaction = messagesPerTransactionMax): Promise<void> {
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 60_000 });
  await producer.connect();
  try {
    for (let start = 0; start < messages.length; start += perTransaction) {
      const transaction = await producer.transaction();
      try {
        await transaction.send({ topic, messages: messages.slice(start, start + perTransaction).map((message) => ({ ...message, headers: { ...message.headers } })) });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    }
  } finally {
    await producer.disconnect();
  }
}

export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
