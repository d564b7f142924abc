/**
 * EventPublisher on real Kafka: exactly once and in order, continuation by a successor after a
 * clean stop, and a zombie fenced by a new publisher with the same transactional.id.
 */
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { encodeEnvelopeMessage, type EnvelopeInput } from '../../common/events/envelope.ts';
import { createKafka } from '../../common/kafka/client.ts';
import { createLogger } from '../../common/logger.ts';
import { generateHistory } from '../../projector/test/ledger-history.ts';
import { createTopic as createKafkaTopic } from '../../projector/test/publish.ts';
import { uniqueName, uniqueTopic } from '../../test/support/isolation.ts';
import { InMemoryCommittedEventSource, type CommittedEventSource } from './committed-event-source.ts';
import { EventPublisher, type EventPublisherLimits } from './event-publisher.ts';
import { accountCreatedInputs } from './test/account-created-inputs.ts';
import { readPartition, waitFor, type ReadMessage } from './test/read-partition.ts';

// 'fatal': the zombie test's expected 'fenced' error log would otherwise print.
const log = createLogger('event-publisher-test', 'fatal');
const shard = 0;
const publishTimeoutMs = 30_000;
const limits: Partial<EventPublisherLimits> = { eventsPerTransactionMax: 40, retryBackoffMsMax: 1_000, idleWaitMs: 200 };

/** What the partition must hold: exactly the source's envelopes, in seq order, nothing else. */
function expectedMessages(inputs: readonly EnvelopeInput[]) {
  return inputs.map((input) => {
    const message = encodeEnvelopeMessage(input);
    return { key: message.key, value: message.value, headers: { seq: message.headers.seq, type: message.headers.type } };
  });
}

function withoutOffsets(messages: readonly ReadMessage[]) {
  return messages.map(({ key, value, headers }) => ({ key, value, headers }));
}

describe('EventPublisher', () => {
  let kafka: Kafka;
  const started: EventPublisher[] = [];

  const publisher = (topic: string, source: InMemoryCommittedEventSource, transactionalId: string): EventPublisher => {
    const created = new EventPublisher({ kafka, topic, shard, transactionalId, source, log, limits });
    started.push(created);
    created.start();
    return created;
  };

  const createTopic = async (prefix: string): Promise<string> => {
    const topic = uniqueTopic(prefix);
    await createKafkaTopic(kafka, topic, 1);
    return topic;
  };

  beforeAll(() => {
    kafka = createKafka({ clientId: 'event-publisher-test', brokers: inject('kafkaBrokers'), log });
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((instance) => instance.stop()));
  });

  it('publishes seq 1..N exactly once, in order, one message per event matching the source envelope', async () => {
    const topic = await createTopic('publisher-once');
    const history = generateHistory({ seed: 5, shard, accounts: 30, transfers: 150 });
    const source = new InMemoryCommittedEventSource(history.inputs.slice(0, 100));
    const instance = publisher(topic, source, uniqueName('publisher-once'));
    await waitFor(() => instance.publishedSeq === 100, publishTimeoutMs, 'seq 100 published');
    // Events committed while running are picked up on notify().
    source.append(history.inputs.slice(100));
    instance.notify();
    const total = history.inputs.length;
    await waitFor(() => instance.publishedSeq === total, publishTimeoutMs, `seq ${total} published`);

    const stats = instance.stats();
    expect(stats).toMatchObject({ state: 'publishing', publishedSeq: total, publishedEvents: total, retries: 0, lagEvents: 0, lagMs: 0, lastError: null });
    expect(stats.transactions).toBeGreaterThanOrEqual(Math.ceil(total / 40));
    const read = await readPartition(kafka, topic, shard);
    expect(withoutOffsets(read)).toEqual(expectedMessages(history.inputs));
    expect(read.map((message) => Number(message.headers.seq))).toEqual(history.inputs.map((_, index) => index + 1));
  });

  it('a transaction larger than one produce request goes out in several bounded sends and commits as one', async () => {
    const topic = await createTopic('publisher-sends');
    const history = generateHistory({ seed: 6, shard, accounts: 20, transfers: 200 });
    const source = new InMemoryCommittedEventSource(history.inputs);
    const instance = new EventPublisher({
      kafka, topic, shard, transactionalId: uniqueName('publisher-sends'), source, log,
      limits: { ...limits, eventsPerTransactionMax: 10_000, bytesPerSendMax: 4_096 },
    });
    started.push(instance);
    instance.start();
    const total = history.inputs.length;
    await waitFor(() => instance.publishedSeq === total, publishTimeoutMs, `seq ${total} published`);
    // All of it fits one transaction (the source had everything at start), sent in ~4 kB requests.
    expect(instance.stats().transactions).toBe(1);
    // The commit's markers (and so the last stable offset) may land a moment after commit() returns.
    let read = await readPartition(kafka, topic, shard);
    for (let attempt = 0; attempt < 50 && read.length < total; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      read = await readPartition(kafka, topic, shard);
    }
    expect(withoutOffsets(read)).toEqual(expectedMessages(history.inputs));
  });

  it('a successor with the same transactional.id continues at N+1 after the first stopped: no duplicate, no gap', async () => {
    const topic = await createTopic('publisher-successor');
    const transactionalId = uniqueName('publisher-successor');
    const inputs = accountCreatedInputs(1, 130, { shard });
    const source = new InMemoryCommittedEventSource(inputs.slice(0, 70));
    const first = publisher(topic, source, transactionalId);
    await waitFor(() => first.publishedSeq === 70, publishTimeoutMs, 'first publisher at seq 70');
    await first.stop();
    expect(first.state).toBe('stopped');

    source.append(inputs.slice(70));
    const second = publisher(topic, source, transactionalId);
    await waitFor(() => second.publishedSeq === 130, publishTimeoutMs, 'successor at seq 130');
    // It read 70 back from Kafka and published only what followed.
    expect(second.stats()).toMatchObject({ publishedEvents: 60, lagEvents: 0 });
    const read = await readPartition(kafka, topic, shard);
    expect(withoutOffsets(read)).toEqual(expectedMessages(inputs));
  });

  it('recovers from a failure with a fresh producer: backs off, reads the published seq back, continues without duplicates', async () => {
    const topic = await createTopic('publisher-retry');
    const inputs = accountCreatedInputs(1, 120, { shard });
    const committed = new InMemoryCommittedEventSource(inputs);
    let failuresLeft = 1;
    // The seam fails once in the middle (e.g. the node's log read failed), after seq 1..40 were committed.
    const flaky: CommittedEventSource = {
      lastSeq: () => committed.lastSeq(),
      read: (fromSeq, max) => {
        if (fromSeq === 41 && failuresLeft > 0) {
          failuresLeft -= 1;
          throw new Error('log read failed');
        }
        return committed.read(fromSeq, max);
      },
    };
    const instance = new EventPublisher({ kafka, topic, shard, transactionalId: uniqueName('publisher-retry'), source: flaky, log, limits });
    started.push(instance);
    instance.start();
    await waitFor(() => instance.publishedSeq === 120, publishTimeoutMs, 'seq 120 after the retry');
    expect(instance.stats()).toMatchObject({ state: 'publishing', retries: 1, publishedEvents: 120, lastError: 'Error: log read failed' });
    const read = await readPartition(kafka, topic, shard);
    expect(withoutOffsets(read)).toEqual(expectedMessages(inputs));
  });

  it('stop() ends a publisher that is backing off, promptly', async () => {
    const topic = await createTopic('publisher-stop');
    const broken: CommittedEventSource = { lastSeq: () => 1, read: () => { throw new Error('log unreadable'); } };
    const instance = new EventPublisher({ kafka, topic, shard, transactionalId: uniqueName('publisher-stop'), source: broken, log, limits: { ...limits, retryBackoffMsMin: 60_000, retryBackoffMsMax: 60_000 } });
    instance.start();
    await waitFor(() => instance.state === 'backing_off', publishTimeoutMs, 'a backoff');
    const stopStarted = Date.now();
    await instance.stop();
    expect(Date.now() - stopStarted).toBeLessThan(10_000);
    // (stats() would read the broken source for the lag in ms; the getters do not.)
    expect({ state: instance.state, publishedSeq: instance.publishedSeq }).toEqual({ state: 'stopped', publishedSeq: 0 });
  });

  it('fences a zombie: once a new publisher has started, nothing the old one tries becomes visible', async () => {
    const topic = await createTopic('publisher-zombie');
    const transactionalId = uniqueName('publisher-zombie');
    const committed = accountCreatedInputs(1, 50, { shard });
    const zombieSource = new InMemoryCommittedEventSource(committed);
    const leaderSource = new InMemoryCommittedEventSource(committed);
    const zombie = publisher(topic, zombieSource, transactionalId);
    await waitFor(() => zombie.publishedSeq === 50, publishTimeoutMs, 'zombie at seq 50');

    const leader = publisher(topic, leaderSource, transactionalId);
    await waitFor(() => leader.publishedSeq === 50, publishTimeoutMs, 'new leader read seq 50 back');
    const leaderEvents = accountCreatedInputs(51, 80, { shard, commandIdPrefix: 'leader' });
    leaderSource.append(leaderEvents);
    leader.notify();
    await waitFor(() => leader.publishedSeq === 80, publishTimeoutMs, 'new leader at seq 80');

    // The deposed leader still believes it leads and has different events for seq 51.. .
    zombieSource.append(accountCreatedInputs(51, 60, { shard, commandIdPrefix: 'zombie' }));
    zombie.notify();
    await waitFor(() => zombie.state !== 'publishing', publishTimeoutMs, 'zombie to stop publishing');
    expect(zombie.state).toBe('fenced');
    expect(zombie.stats()).toMatchObject({ publishedSeq: 50, publishedEvents: 50, retries: 0 });
    expect(zombie.stats().lastError).toMatch(/epoch|fenced|code 90/i);

    const read = await readPartition(kafka, topic, shard);
    expect(withoutOffsets(read)).toEqual(expectedMessages([...committed, ...leaderEvents]));
    expect(read.filter((message) => message.value?.includes('"commandId":"zombie'))).toEqual([]);
    // The leader is unaffected and keeps publishing.
    expect(leader.stats()).toMatchObject({ state: 'publishing', publishedSeq: 80, publishedEvents: 30 });
  });
});
