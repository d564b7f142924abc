/**
 * findLastPublishedSeq on real Kafka: committed transactions followed by an aborted one and by
 * transaction markers; tiny windows force the read to widen below the trailing aborted records.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../../common/kafka/client.ts';
import { createLogger } from '../../common/logger.ts';
import { uniqueName, uniqueTopic } from '../../test/support/isolation.ts';
import { createTopic } from '../../projector/test/publish.ts';
import { findLastPublishedSeq, lastPublishedSeqLimitsDefault, type LastPublishedSeqLimits } from './last-published-seq.ts';

const log = createLogger('last-published-seq-test', 'error');
const tinyWindows: LastPublishedSeqLimits = { ...lastPublishedSeqLimitsDefault, windowOffsetsInitial: 2, windowOffsetsMax: 4 };


/** The partition's end offset (its high watermark, markers included). */
async function endOffset(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return Number((await admin.fetchTopicOffsets(topic)).find((partition) => partition.partition === 0)!.high);
  } finally {
    await admin.disconnect();
  }
}

/**
 * One transaction carrying records with the given seq headers, committed or aborted, returning once its commit or abort marker is in the partition: the
 * broker answers EndTxn before it writes the markers, so a read right after could miss them.
 */
async function transaction(kafka: Kafka, topic: string, seqs: number[], outcome: 'commit' | 'abort'): Promise<void> {
  const expectedEnd = (await endOffset(kafka, topic)) + seqs.length + 1;
  const producer = kafka.producer({ transactionalId: uniqueName('last-seq-test'), idempotent: true, maxInFlightRequests: 1, transactionTimeout: 30_000 });
  await producer.connect();
  try {
    const open = await producer.transaction();
    await open.send({ topic, messages: seqs.map((seq) => ({ key: '0', partition: 0, value: `event ${seq}`, headers: { seq: String(seq), type: 'Test' } })) });
    if (outcome === 'commit') await open.commit();
    else await open.abort();
  } finally {
    await producer.disconnect();
  }
  const deadline = Date.now() + 10_000;
  while ((await endOffset(kafka, topic)) < expectedEnd) {
    if (Date.now() > deadline) throw new Error(`the ${outcome} marker did not reach ${topic} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('findLastPublishedSeq', () => {
  let kafka: Kafka;

  beforeAll(() => {
    kafka = createKafka({ clientId: 'last-published-seq-test', brokers: inject('kafkaBrokers'), log });
  });

  it('is 0 for an empty partition and for one holding only an aborted transaction', async () => {
    const topic = uniqueTopic('last-seq-empty');
    await createTopic(kafka, topic, 1);
    expect(await findLastPublishedSeq(kafka, topic, 0, log)).toBe(0);
    await transaction(kafka, topic, [1, 2, 3], 'abort');
    expect(await findLastPublishedSeq(kafka, topic, 0, log, tinyWindows)).toBe(0);
  });

  it('skips a trailing aborted transaction and the markers, widening the window below them', async () => {
    const topic = uniqueTopic('last-seq-aborted');
    await createTopic(kafka, topic, 1);
    await transaction(kafka, topic, [1, 2, 3], 'commit');
    await transaction(kafka, topic, [4, 5], 'commit');
    // Offsets: 0-2 seq 1-3, 3 marker, 4-5 seq 4-5, 6 marker: the last record is a marker.
    expect(await findLastPublishedSeq(kafka, topic, 0, log, tinyWindows)).toBe(5);
    await transaction(kafka, topic, [6, 7, 8, 9, 10], 'abort');
    // Offsets 7-11 aborted, 12 abort marker: windows [11,13), [7,11) hold nothing committed, [3,7) does.
    expect(await findLastPublishedSeq(kafka, topic, 0, log, tinyWindows)).toBe(5);
    expect(await findLastPublishedSeq(kafka, topic, 0, log)).toBe(5);
    await transaction(kafka, topic, [6], 'commit');
    expect(await findLastPublishedSeq(kafka, topic, 0, log, tinyWindows)).toBe(6);
  });
});
