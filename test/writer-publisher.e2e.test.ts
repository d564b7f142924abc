/**
 * Issue #5 acceptance — publishing committed events to Kafka exactly once, in order, across leader
 * changes — on three real writer processes and a real Kafka broker:
 * a) 20,000 transfers while the leader is SIGKILLed 3 times and the (private) broker is restarted
 *    once: the partition read with read_committed holds seq 1..N exactly once, in order (N = the
 *    writer's lastSeq), and every message equals the one the writer's log gives for that seq;
 * b) zombie fencing: the leader is SIGSTOPped until a new leader has published, then resumed; the
 *    partition stays dense and unique and the old leader's publisher never publishes again;
 * c) the leader is killed (failpoint) right after a Kafka transaction commits and before the cluster
 *    learns the new watermark: the next leader publishes no duplicate and leaves no gap.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../common/kafka/client.ts';
import { createLogger } from '../common/logger.ts';
import { startLocalKafka, type LocalKafka } from '../platform/kafka/local-kafka.ts';
import { readPartition, type ReadMessage } from '../writer/publisher/test/read-partition.ts';
import { uniqueTopic } from './support/isolation.ts';
import { freePort } from './support/ports.ts';
import { postJson, publisherEnvironment, WriterCluster, type ClusterView, type WriterProcess } from './support/writer-cluster.ts';

const log = createLogger('writer-publisher-e2e', 'error');
const requestDeadlineMs = 90_000;
const publishedWaitMs = 90_000;

let cluster: WriterCluster | undefined;
let privateKafka: { broker: LocalKafka | undefined; dataDir: string } | undefined;

afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
  if (privateKafka) {
    await privateKafka.broker?.stop();
    rmSync(privateKafka.dataDir, { recursive: true, force: true });
    privateKafka = undefined;
  }
});

interface Transfer { id: string; debitAccountId: string; creditAccountId: string; amount: string; ledger: number; code: number }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Posts to a random running node until a definite answer (200 or 400), same body every time. */
async function sendUntilAnswered(target: WriterCluster, route: string, body: unknown): Promise<{ status: number; body: { results: { id: string; status: string }[] } }> {
  const deadline = Date.now() + requestDeadlineMs;
  let attempts = 0;
  while (Date.now() < deadline) {
    const running = target.nodes.filter((node) => node.process !== undefined);
    const node = running[attempts % Math.max(1, running.length)];
    attempts += 1;
    if (node !== undefined) {
      try {
        const answer = await postJson(`${node.url}${route}`, body, 10_000);
        if (answer.status === 200 || answer.status === 400) return answer;
      } catch {
        // node down or timed out: outcome unknown, retry with the same ids
      }
    }
    await sleep(Math.min(500, 20 * attempts));
  }
  throw new Error(`no definite answer for ${route} within ${requestDeadlineMs} ms`);
}

async function openAccounts(target: WriterCluster, count: number): Promise<void> {
  const accounts = [{ id: 'bank', ledger: 1, code: 1 }, ...Array.from({ length: count }, (_, index) => ({ id: `user-${index}`, ledger: 1, code: 2 }))];
  const answer = await sendUntilAnswered(target, '/v1/accounts', { accounts });
  expect(answer.status).toBe(200);
}

function transferBatch(prefix: string, first: number, size: number, accounts: number): Transfer[] {
  return Array.from({ length: size }, (_, offset) => {
    const n = first + offset;
    return { id: `${prefix}-${n}`, debitAccountId: n % 5 === 0 ? 'bank' : `user-${n % accounts}`, creditAccountId: `user-${(n * 7 + 1) % accounts}`, amount: String(1 + (n % 97)), ledger: 1, code: 3 };
  }).filter((transfer) => transfer.debitAccountId !== transfer.creditAccountId);
}

/** Waits until a leader says Kafka holds everything it applied and the watermark says so cluster-wide. */
async function waitFullyPublished(target: WriterCluster): Promise<ClusterView> {
  const deadline = Date.now() + publishedWaitMs;
  let last: ClusterView | undefined;
  while (Date.now() < deadline) {
    const leader = await target.waitForLeader(30_000);
    last = await target.view(leader);
    if (last && last.publisher.publishedSeq === last.lastSeq && last.publishedSeq === last.lastSeq && last.lastSeq > 0) return last;
    await sleep(200);
  }
  throw new Error(`not fully published within ${publishedWaitMs} ms: ${JSON.stringify(last)}`);
}

/** The Kafka messages the writer's log gives for seq 1..lastSeq, from a node's admin route. */
async function messagesFromLog(node: WriterProcess, lastSeq: number): Promise<{ seq: number; value: string; headers: { seq: string; type: string } }[]> {
  const found: { seq: number; value: string; headers: { seq: string; type: string } }[] = [];
  while (found.length < lastSeq) {
    const response = await fetch(`${node.url}/v1/admin/events?fromSeq=${found.length + 1}&limit=5000`, { signal: AbortSignal.timeout(15_000) });
    expect(response.status).toBe(200);
    const page = (await response.json()) as { events: { seq: number; value: string; headers: { seq: string; type: string } }[] };
    expect(page.events.length).toBeGreaterThan(0);
    found.push(...page.events);
  }
  return found.slice(0, lastSeq);
}

/** Seq 1..N exactly once, in order, each message equal to the writer's. */
async function expectPartitionEqualsLog(brokers: readonly string[], topic: string, node: WriterProcess, lastSeq: number): Promise<ReadMessage[]> {
  const kafka = createKafka({ clientId: 'writer-publisher-e2e-reader', brokers: [...brokers], log });
  // A commit's markers (and so the last stable offset read_committed stops at) may land a moment after commit() returned.
  let messages = await readPartition(kafka, topic, 0);
  for (let attempt = 0; attempt < 50 && messages.length < lastSeq; attempt += 1) {
    await sleep(200);
    messages = await readPartition(kafka, topic, 0);
  }
  const seqs = messages.map((message) => Number(message.headers.seq));
  expect(seqs.length).toBe(lastSeq);
  const outOfPlace = seqs.findIndex((seq, position) => seq !== position + 1);
  expect(outOfPlace, `seq ${seqs[outOfPlace]} at position ${outOfPlace}`).toBe(-1);
  const expected = await messagesFromLog(node, lastSeq);
  for (let position = 0; position < lastSeq; position += 1) {
    const message = messages[position]!;
    const wanted = expected[position]!;
    if (message.value !== wanted.value || message.headers.type !== wanted.headers.type || message.key !== '0') {
      expect({ seq: position + 1, key: message.key, value: message.value, type: message.headers.type }).toEqual({ seq: position + 1, key: '0', value: wanted.value, type: wanted.headers.type });
    }
  }
  return messages;
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('writer publishes committed events to Kafka exactly once, in order, across leader changes', () => {
  it('20,000 transfers, the leader SIGKILLed 3 times and the broker restarted once: the partition is seq 1..N once each, equal to the log', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledger-e2e-private-kafka-'));
    const ports = { port: await freePort(), controllerPort: await freePort() };
    privateKafka = { broker: await startLocalKafka({ dataDir, ...ports, heapMb: 384, log }), dataDir };
    const brokers = privateKafka.broker!.brokers;
    const topic = uniqueTopic('e2e-publisher-faults');
    cluster = await WriterCluster.create(3, publisherEnvironment(brokers, topic));
    const target = cluster;
    await target.startAll();
    await target.waitForLeader(30_000);
    const accounts = 50;
    await openAccounts(target, accounts);

    const transfersTotal = 20_000;
    const batchSize = 100;
    const clients = 4;
    // Faults fire at these progress points; clients wait at most `slack` transfers past the next
    // pending one, so load keeps flowing during each fault but every fault lands mid-run.
    const faults: { at: number; kind: 'kill-leader' | 'restart-broker' }[] = [
      { at: 3_000, kind: 'kill-leader' }, { at: 7_000, kind: 'restart-broker' }, { at: 11_000, kind: 'kill-leader' }, { at: 15_000, kind: 'kill-leader' },
    ];
    const slack = 2_500;
    let next = 0;
    let faultsDone = 0;
    let acknowledgedWhileBrokerDown = 0;
    let brokerDown = false;
    const acknowledged = new Set<string>();
    const workload = Array.from({ length: clients }, async () => {
      while (next < transfersTotal) {
        const pending = faults[faultsDone];
        if (pending !== undefined && next >= pending.at + slack) {
          await sleep(50);
          continue;
        }
        const first = next;
        next += batchSize;
        const batch = transferBatch('t', first, Math.min(batchSize, transfersTotal - first), accounts);
        const answer = await sendUntilAnswered(target, '/v1/transfers', { transfers: batch });
        expect(answer.status).toBe(200);
        for (const result of answer.body.results) {
          if (result.status === 'created' || result.status === 'exists') {
            acknowledged.add(result.id);
            if (brokerDown) acknowledgedWhileBrokerDown += 1;
          }
        }
      }
    });
    const faultRunner = (async () => {
      for (const fault of faults) {
        while (next < fault.at) await sleep(50);
        if (fault.kind === 'kill-leader') {
          const leader = await target.waitForLeader(30_000);
          const pid = leader.process?.child.pid;
          await target.kill(leader, 'SIGKILL');
          expect(isAlive(pid), `leader ${leader.id} (pid ${pid}) still alive after SIGKILL`).toBe(false);
          await target.waitForLeader(30_000, leader);
          await target.start(leader);
        } else {
          brokerDown = true;
          await privateKafka!.broker!.stop();
          privateKafka!.broker = undefined;
          await sleep(3_000); // the writer keeps accepting commands meanwhile
          privateKafka!.broker = await startLocalKafka({ dataDir, ...ports, heapMb: 384, log });
          brokerDown = false;
        }
        faultsDone += 1;
      }
    })();
    await Promise.all([...workload, faultRunner]);
    expect(faultsDone).toBe(faults.length);
    expect(acknowledged.size).toBeGreaterThan(transfersTotal / 2);
    expect(acknowledgedWhileBrokerDown).toBeGreaterThan(0);

    await target.waitForConvergence(60_000);
    const final = await waitFullyPublished(target);
    const leader = target.node(final.nodeId);
    await expectPartitionEqualsLog(brokers, topic, leader, final.lastSeq);
    // Every node's log gives the same messages (any node's committed log is correct to copy from).
    const follower = target.nodes.find((node) => node !== leader)!;
    expect(await messagesFromLog(follower, final.lastSeq)).toEqual(await messagesFromLog(leader, final.lastSeq));
  }, 420_000);

  it('a zombie leader (SIGSTOPped until a new leader published, then resumed) adds nothing to the partition', async () => {
    const brokers = inject('kafkaBrokers');
    const topic = uniqueTopic('e2e-publisher-zombie');
    cluster = await WriterCluster.create(3, publisherEnvironment(brokers, topic));
    const target = cluster;
    await target.startAll();
    await openAccounts(target, 20);
    let stop = false;
    let sent = 0;
    const load = (async () => {
      while (!stop) {
        await sendUntilAnswered(target, '/v1/transfers', { transfers: transferBatch('z', sent, 50, 20) });
        sent += 50;
        await sleep(20);
      }
    })();
    // Until the leader is publishing (its producer is the current one for the transactional.id).
    const publishingDeadline = Date.now() + 60_000;
    let oldLeader = await target.waitForLeader();
    let before = await target.view(oldLeader);
    while (!(before?.role === 'leader' && before.publisher.transactions > 0)) {
      expect(Date.now() < publishingDeadline, `the leader never published: ${JSON.stringify(before)}`).toBe(true);
      await sleep(100);
      oldLeader = await target.waitForLeader();
      before = await target.view(oldLeader);
    }
    target.pause(oldLeader);
    const pausedTerm = before!.term;
    const newLeader = await target.waitForLeader(30_000, oldLeader);
    // Until the new leader's publisher has fenced the old producer and published past the pause.
    const deadline = Date.now() + 60_000;
    let newView = await target.view(newLeader);
    while (!(newView && newView.term > pausedTerm && (newView.publisher.publishedSeq ?? 0) > (before!.publisher.publishedSeq ?? 0) && newView.publisher.transactions > 0)) {
      expect(Date.now() < deadline, `new leader did not publish: ${JSON.stringify(newView)}`).toBe(true);
      await sleep(100);
      newView = await target.view(newLeader);
    }
    const oldLeaderLastSeqAtPause = before!.lastSeq;
    target.resume(oldLeader);
    await sleep(2_000);
    stop = true;
    await load;
    const resumed = await target.view(oldLeader);
    expect(resumed?.role).not.toBe('leader');
    expect(resumed?.publisher.state).toBe('not_leader');

    await target.waitForConvergence(60_000);
    const final = await waitFullyPublished(target);
    // Dense and unique: a zombie commit after the new leader read the partition back would repeat a seq.
    await expectPartitionEqualsLog(brokers, topic, target.node(final.nodeId), final.lastSeq);
    expect(final.lastSeq).toBeGreaterThan(oldLeaderLastSeqAtPause);
  }, 300_000);

  it('the leader killed right after a Kafka commit, before the watermark: the next leader publishes no duplicate and no gap', async () => {
    const brokers = inject('kafkaBrokers');
    const topic = uniqueTopic('e2e-publisher-failpoint');
    cluster = await WriterCluster.create(3, publisherEnvironment(brokers, topic));
    const target = cluster;
    await target.startAll();
    await openAccounts(target, 20);
    // Restart one follower with the failpoint and hand it the leadership.
    const first = await target.waitForLeader();
    const victim = target.nodes.find((node) => node !== first)!;
    await target.kill(victim, 'SIGTERM');
    const failAfter = 4;
    await target.start(victim, false, { WRITER_FAILPOINT: `publisher-after-commit:${failAfter}` });
    const running = victim.process!;
    const deadline = Date.now() + 60_000;
    while ((await target.view(victim))?.role !== 'leader') {
      expect(Date.now() < deadline, 'the failpoint node never became leader').toBe(true);
      await postJson(`${first.url}/v1/admin/leadership`, { to: victim.id }).catch(() => undefined);
      await sleep(500);
    }
    // Load until the failpoint fires: each batch is at least one transaction. The batches go to the
    // failpoint node itself, without retries, so the loop does not wait for the next leader.
    let batch = 0;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    // The moment the process is gone (a new leader needs an election, a fenced producer and a
    // read-back before it could announce anything): what the surviving nodes know as the watermark.
    let survivorsAtExit: Promise<(ClusterView | undefined)[]> | undefined;
    void running.exited.then((status) => {
      exit = status;
      survivorsAtExit = Promise.all(target.nodes.filter((node) => node !== victim).map((node) => target.view(node)));
    });
    while (exit === undefined) {
      expect(batch < 200, 'the failpoint never fired').toBe(true);
      await postJson(`${victim.url}/v1/transfers`, { transfers: transferBatch('f', batch * 20, 20, 20) }, 10_000).catch(() => undefined);
      batch += 1;
      await sleep(50);
    }
    const survivors = await survivorsAtExit!;
    const watermark = Math.max(...survivors.map((view) => view?.publishedSeq ?? 0));
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    await running.drained; // the fatal line may still be in the pipe when 'exit' is emitted
    const killLine = running.output().split('\n').find((line) => line.includes('failpoint publisher-after-commit'));
    expect(killLine).toBeDefined();
    const killedAtSeq = (JSON.parse(killLine!) as { publishedSeq: number }).publishedSeq;
    victim.process = undefined;
    // Kafka holds more than the cluster's watermark says: the last commit was never announced.
    expect(killedAtSeq).toBeGreaterThan(watermark);

    // More load under the next leader, then the killed node comes back without the failpoint.
    for (let more = 0; more < 10; more += 1) await sendUntilAnswered(target, '/v1/transfers', { transfers: transferBatch('g', more * 20, 20, 20) });
    await target.start(victim);
    await target.waitForConvergence(60_000);
    const final = await waitFullyPublished(target);
    expect(final.lastSeq).toBeGreaterThan(killedAtSeq);
    await expectPartitionEqualsLog(brokers, topic, target.node(final.nodeId), final.lastSeq);
  }, 300_000);
});
