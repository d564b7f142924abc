/** Test support: everything committed in one partition, read back with a read_committed consumer. */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';

export interface ReadMessage {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Readonly<Record<string, string>>;
}

export const partitionReadTimeoutMs = 30_000;

export async function readPartition(kafka: Kafka, topic: string, partition: number): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const high = Number(offsets.find((entry) => entry.partition === partition)?.high ?? 0);
  if (high === 0) return [];
  const consumer = kafka.consumer({ groupId: `read-partition-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  const messages: ReadMessage[] = [];
  let reachedEnd: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    reachedEnd = resolve;
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic && payload.partition === partition && Number(payload.lastOffset) >= high - 1) reachedEnd();
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition: from, message }) => {
        if (from !== partition) return;
        const headers: Record<string, string> = {};
        for (const [name, header] of Object.entries(message.headers ?? {})) headers[name] = String(Array.isArray(header) ? header[0] : header);
        messages.push({ offset: Number(message.offset), key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`read ${messages.length} messages of ${topic}/${partition} but not up to offset ${high} within ${partitionReadTimeoutMs} ms`)), partitionReadTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
  return messages.filter((message) => message.offset < high);
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
