/**
 * PublisherSupervisor on a real broker: it publishes only while the node leads, proposes the
 * watermark (rate-limited) as Kafka acknowledges, restarts a publisher that was fenced while the
 * node still leads the same term, stops when leadership is lost, and its failpoint fires right
 * after the n-th committed transaction, before the watermark is proposed.
 */
import type { Kafka } from 'kafkajs';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../common/kafka/client.ts';
import { createLogger } from '../../common/logger.ts';
import { uniqueTopic } from '../../test/support/isolation.ts';
import type { NodePublisherContext } from '../node/writer-node.ts';
import { InMemoryCommittedEventSource } from './committed-event-source.ts';
import { EventPublisher } from './event-publisher.ts';
import { PublisherSupervisor, writerTransactionalId } from './publisher-supervisor.ts';
import { accountCreatedInputs } from './test/account-created-inputs.ts';
import { readPartition, waitFor } from './test/read-partition.ts';

const log = createLogger('publisher-supervisor-test', 'fatal');
const shard = 0;
const waitMs = 30_000;

let kafka: Kafka;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => {
  kafka = createKafka({ clientId: 'publisher-supervisor-test', brokers: inject('kafkaBrokers'), log });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function contextFor(source: InMemoryCommittedEventSource): NodePublisherContext & { proposals: number[]; replicated: number } {
  const context = {
    source,
    proposals: [] as number[],
    replicated: 0,
    proposeWatermark(seq: number) {
      if (seq <= context.replicated) return false;
      context.proposals.push(seq);
      context.replicated = seq; // as if the record committed and applied at once
      return true;
    },
    replicatedPublishedSeq: () => context.replicated,
  };
  return context;
}

function supervisor(topic: string, context: NodePublisherContext, extra: Partial<ConstructorParameters<typeof PublisherSupervisor>[0]> = {}): PublisherSupervisor {
  const created = new PublisherSupervisor({
    kafka, topic, shard, log, context, topicSpec: { partitions: 1, replicationFactor: 1 },
    limits: { restartBackoffMsMin: 200, restartBackoffMsMax: 1_000, watermarkIntervalMs: 250 },
    publisherLimits: { eventsPerTransactionMax: 25, idleWaitMs: 100, retryBackoffMsMax: 500 },
    ...extra,
  });
  cleanups.push(() => created.stop());
  return created;
}

describe('PublisherSupervisor', () => {
  it('publishes while leading, proposes the watermark, restarts after being fenced in the same term, and stops on losing leadership', async () => {
    const topic = uniqueTopic('supervisor');
    const source = new InMemoryCommittedEventSource(accountCreatedInputs(1, 100, { shard }));
    const context = contextFor(source);
    // The supervisor's clock stands still until we move it: the watermark interval is then exact.
    let clockMs = 1_000_000;
    let frozen = true;
    const instance = supervisor(topic, context, { now: () => (frozen ? clockMs : Date.now()) });
    instance.roleChanged('follower', 1);
    expect(instance.view().state).toBe('not_leader');
    instance.roleChanged('leader', 2);
    await waitFor(() => instance.view().publishedSeq === 100, waitMs, 'seq 100 published');
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Four transactions of 25, but within one watermark interval only the first is proposed.
    expect(context.proposals).toEqual([25]);
    clockMs += 250;
    await waitFor(() => context.replicated === 100, waitMs, 'watermark 100 proposed once the interval passed');
    expect(context.proposals).toEqual([25, 100]);
    expect(instance.view()).toMatchObject({ state: 'publishing', publishedSeq: 100, lagEvents: 0, restarts: 0 });
    frozen = false; // from here on the real clock (far ahead of the frozen one)

    // Another producer with the same transactional.id (a broker-side epoch bump looks the same to us).
    const rogue = new EventPublisher({ kafka, topic, shard, transactionalId: writerTransactionalId(topic, shard), source, log, limits: { idleWaitMs: 100 } });
    rogue.start();
    await waitFor(() => rogue.publishedSeq === 100, waitMs, 'the rogue producer fenced ours and read back 100');
    await rogue.stop();
    source.append(accountCreatedInputs(101, 150, { shard }));
    instance.notify();
    await waitFor(() => instance.view().restarts === 1 && context.replicated === 150, waitMs, 'fenced, restarted after the backoff, and caught up');
    const read = await readPartition(kafka, topic, shard);
    expect(read.map((message) => Number(message.headers.seq))).toEqual(Array.from({ length: 150 }, (_, index) => index + 1));

    instance.roleChanged('follower', 3);
    await waitFor(() => instance.view().state === 'not_leader', waitMs, 'stopped on losing leadership');
    source.append(accountCreatedInputs(151, 160, { shard }));
    instance.notify();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(context.replicated).toBe(150);
    expect(instance.view().transactions).toBeGreaterThanOrEqual(6);
  });

  it('the failpoint fires right after the n-th committed transaction, before that watermark is proposed', async () => {
    const topic = uniqueTopic('supervisor-failpoint');
    const source = new InMemoryCommittedEventSource(accountCreatedInputs(1, 100, { shard }));
    const context = contextFor(source);
    let killedAt: number | undefined;
    const instance = supervisor(topic, context, {
      failpoint: { killAfterCommittedTransactions: 2 },
      kill: () => {
        killedAt ??= context.replicated;
      },
    });
    instance.roleChanged('leader', 1);
    await waitFor(() => killedAt !== undefined, waitMs, 'the failpoint fired');
    await instance.stop();
    const read = await readPartition(kafka, topic, shard);
    // Two transactions of 25 are in Kafka; the watermark never covered the second one.
    expect(read.length).toBeGreaterThanOrEqual(50);
    expect(killedAt).toBeLessThan(50);
  });
});
