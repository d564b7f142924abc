/**
 * What a chaos run must show once every fault is healed (issue #8):
 *
 * - writers: the nodes converge to one state (same last seq, same digest, no invariant
 *   violation); every acknowledged transfer exists on every node; a transfer whose request got a
 *   definite refusal exists on none; a linked chain exists wholly or not at all;
 * - Kafka (read_committed, from the start): seq 1..N exactly once, in order, N = the writers' last
 *   seq; each transfer id is created by exactly one event; every acknowledged id is there;
 * - Postgres: the live checkpoint reaches N; each transfer row's seq is the seq of the Kafka
 *   event that created it (so seq is dense and nothing is missing or extra); every account's four
 *   counters equal the writers'; the read-model invariants hold;
 * - the history of strong reads and writes is linearizable; no read-your-writes violation.
 *
 * Each check returns human-readable violations; an empty list means it held.
 */
import { createKafka } from '../common/kafka/client.ts';
import { decodeEnvelope } from '../common/events/envelope.ts';
import { checkLinearizability } from '../common/linearizability/checker.ts';
import { ledgerBalancesModel } from '../common/linearizability/models/ledger-balances.ts';
import { createDatabase } from '../common/database/connect.ts';
import type { Logger } from '../common/logger.ts';
import { sql } from 'kysely';
import { verifyReadModel } from '../projector/read-model-invariants.ts';
import { readPartition } from '../writer/publisher/test/read-partition.ts';
import { eventsTopic, writerIds, sleep, type ChaosPlatform, type WriterView } from './chaos-platform.ts';
import type { Workload } from './workload.ts';

export const convergenceTimeoutMs = 90_000;
export const linearizabilityCheckTimeoutMs = 120_000;
const lookupChunk = 8_000;
const violationsPerCheckMax = 20;

export interface Verification {
  readonly lastSeq: number;
  readonly checks: Record<string, string[]>;
  readonly linearizability: 'ok' | 'illegal' | 'unknown';
  readonly counts: Record<string, number>;
}

export async function verifyRun(platform: ChaosPlatform, workload: Workload, log: Logger): Promise<Verification> {
  const checks: Record<string, string[]> = {};
  const counts: Record<string, number> = {};

  log.info('chaos: waiting for the writers to converge');
  const views = await converge(platform);
  const lastSeq = views[0]!.lastSeq;
  counts.lastSeq = lastSeq;
  checks.writersConverged = views.some((view) => view.stateDigest !== views[0]!.stateDigest || view.lastSeq !== lastSeq)
    ? [`writers disagree: ${views.map((view) => `${view.nodeId}: seq ${view.lastSeq} digest ${view.stateDigest}`).join('; ')}`] : [];

  const acknowledged = new Set<string>();
  const refused = new Set<string>();
  let unknownWrites = 0;
  for (const write of workload.writes) {
    if (write.statuses === undefined) {
      unknownWrites += 1;
      continue;
    }
    write.items.forEach((item, index) => {
      const status = write.statuses![index]!;
      if (status === 'created' || status === 'exists') acknowledged.add(item.id);
      else refused.add(item.id);
    });
  }
  counts.acknowledgedTransfers = acknowledged.size;
  counts.refusedTransfers = refused.size;
  counts.unknownWrites = unknownWrites;

  log.info({ acknowledged: acknowledged.size }, 'chaos: checking every writer node');
  checks.writerState = [];
  const presentOnLeader = new Set<string>();
  const allIds = workload.writes.flatMap((write) => write.items.map((item) => item.id));
  for (const id of writerIds) {
    const found = await lookup(platform.writerUrl(id), allIds);
    for (const transferId of acknowledged) if (!found.has(transferId)) checks.writerState.push(`acknowledged transfer ${transferId} missing on writer ${id}`);
    for (const transferId of refused) if (found.has(transferId)) checks.writerState.push(`transfer ${transferId} was refused but exists on writer ${id}`);
    for (const write of workload.writes.filter((candidate) => candidate.chain)) {
      const present = write.items.filter((item) => found.has(item.id)).length;
      if (present !== 0 && present !== write.items.length) checks.writerState.push(`linked chain ${write.items.map((item) => item.id).join(',')} is partly applied on writer ${id} (${present}/${write.items.length})`);
    }
    const state = await getJson<{ violations: { code: string; message: string }[] }>(`${platform.writerUrl(id)}/v1/admin/state`);
    for (const violation of state.violations) checks.writerState.push(`writer ${id}: invariant ${violation.code}: ${violation.message}`);
    if (id === writerIds[0]) for (const transferId of found) presentOnLeader.add(transferId);
  }

  log.info({ lastSeq }, 'chaos: waiting for Kafka to hold every event');
  checks.kafka = [];
  const transferSeqInKafka = new Map<string, number>();
  const publishDeadline = Date.now() + convergenceTimeoutMs;
  while (true) {
    const published = (await Promise.all(writerIds.map((id) => platform.view(id)))).map((view) => view?.publishedSeq ?? 0);
    if (Math.max(...published) >= lastSeq) break;
    if (Date.now() > publishDeadline) {
      checks.kafka.push(`publishedSeq ${Math.max(...published)} never reached the writers' last seq ${lastSeq} within ${convergenceTimeoutMs} ms`);
      break;
    }
    await sleep(250);
  }
  const kafka = createKafka({ clientId: 'chaos-verify', brokers: platform.kafkaBrokers, log });
  const messages = await readPartition(kafka, eventsTopic, 0);
  counts.kafkaMessages = messages.length;
  let expectedSeq = 1;
  for (const message of messages) {
    const decoded = decodeEnvelope({ value: message.value, headers: message.headers });
    if (!decoded.ok) {
      checks.kafka.push(`offset ${message.offset}: undecodable envelope: ${decoded.error.field} ${decoded.error.reason}`);
      continue;
    }
    const { seq, event } = decoded.envelope;
    if (seq !== expectedSeq) checks.kafka.push(`offset ${message.offset}: seq ${seq}, expected ${expectedSeq} (gap, duplicate or disorder)`);
    expectedSeq = seq + 1;
    if (event.type === 'TransferCreated' || event.type === 'PendingTransferPosted' || event.type === 'PendingTransferVoided') {
      if (transferSeqInKafka.has(event.data.id)) checks.kafka.push(`transfer ${event.data.id} created twice (seq ${transferSeqInKafka.get(event.data.id)} and ${seq})`);
      transferSeqInKafka.set(event.data.id, seq);
    }
  }
  if (expectedSeq - 1 !== lastSeq) checks.kafka.push(`Kafka ends at seq ${expectedSeq - 1}, the writers at ${lastSeq}`);
  for (const transferId of acknowledged) if (!transferSeqInKafka.has(transferId)) checks.kafka.push(`acknowledged transfer ${transferId} not in Kafka`);
  for (const transferId of transferSeqInKafka.keys()) if (!presentOnLeader.has(transferId)) checks.kafka.push(`transfer ${transferId} in Kafka but not in the writers' state`);

  log.info('chaos: waiting for the read model to reach the last seq');
  checks.readModel = [];
  const db = createDatabase<unknown>({ url: platform.databaseUrl, applicationName: 'chaos-verify', poolSizeMax: 2 });
  try {
    const projectedDeadline = Date.now() + convergenceTimeoutMs;
    let checkpoint = 0;
    while (true) {
      const rows = await sql<{ seq: string }>`SELECT seq FROM ledger.checkpoints WHERE shard = 0`.execute(db).catch(() => ({ rows: [] }));
      checkpoint = Number(rows.rows[0]?.seq ?? 0);
      if (checkpoint >= lastSeq) break;
      if (Date.now() > projectedDeadline) {
        checks.readModel.push(`the live checkpoint stayed at ${checkpoint}, below the writers' last seq ${lastSeq}`);
        break;
      }
      await sleep(250);
    }
    const transferRows = await sql<{ id: string; seq: string }>`SELECT id, seq FROM ledger.transfers`.execute(db);
    counts.readModelTransfers = transferRows.rows.length;
    const seen = new Set<string>();
    for (const row of transferRows.rows) {
      seen.add(row.id);
      const kafkaSeq = transferSeqInKafka.get(row.id);
      if (kafkaSeq === undefined) checks.readModel.push(`transfer ${row.id} in the read model but not in Kafka`);
      else if (kafkaSeq !== Number(row.seq)) checks.readModel.push(`transfer ${row.id} has seq ${row.seq} in the read model, ${kafkaSeq} in Kafka`);
    }
    for (const transferId of transferSeqInKafka.keys()) if (!seen.has(transferId)) checks.readModel.push(`transfer ${transferId} in Kafka but not in the read model`);
    const writerAccounts = await getJson<{ accounts: { id: string; debitsPending: string; debitsPosted: string; creditsPending: string; creditsPosted: string }[] }>(`${platform.writerUrl(writerIds[0])}/v1/admin/state`);
    const accountRows = await sql<{ id: string; debits_pending: string; debits_posted: string; credits_pending: string; credits_posted: string }>`
      SELECT id, debits_pending, debits_posted, credits_pending, credits_posted FROM ledger.accounts`.execute(db);
    const projected = new Map(accountRows.rows.map((row) => [row.id, row]));
    for (const account of writerAccounts.accounts) {
      const row = projected.get(account.id);
      const writerCounters = `${account.debitsPending}/${account.debitsPosted}/${account.creditsPending}/${account.creditsPosted}`;
      const rowCounters = row === undefined ? 'missing' : `${row.debits_pending}/${row.debits_posted}/${row.credits_pending}/${row.credits_posted}`;
      if (writerCounters !== rowCounters) checks.readModel.push(`account ${account.id}: writer counters ${writerCounters}, read model ${rowCounters}`);
    }
    const live = await sql<{ projection: string }>`SELECT projection FROM ledger.checkpoints WHERE shard = 0`.execute(db);
    const versionSchema = live.rows[0]?.projection;
    if (versionSchema !== undefined) {
      for (const violation of await verifyReadModel(db, versionSchema, transferSeqInKafka.size)) checks.readModel.push(`${violation.check}: ${violation.detail}`);
    }
  } finally {
    await db.destroy();
  }

  log.info({ operations: workload.linearizabilityHistory.length }, 'chaos: checking linearizability of strong reads');
  const result = checkLinearizability(ledgerBalancesModel, [...workload.linearizabilityHistory], { timeoutMs: linearizabilityCheckTimeoutMs });
  counts.linearizabilityOperations = workload.linearizabilityHistory.length;
  checks.linearizability = result.outcome === 'illegal' ? [`strong reads are not linearizable: ${result.explanation}`]
    : result.outcome === 'unknown' ? [`the linearizability check did not finish within ${linearizabilityCheckTimeoutMs} ms`] : [];
  if (workload.strongReads.answered === 0) checks.linearizability.push('no strong read was answered: nothing was checked');
  checks.readYourWrites = [...workload.readYourWrites.violations];
  if (workload.readYourWrites.reflected === 0) checks.readYourWrites.push('no read-your-writes read was answered: nothing was checked');
  checks.contract = [...workload.contractErrors];
  for (const [name, list] of Object.entries(checks)) if (list.length > violationsPerCheckMax) checks[name] = [...list.slice(0, violationsPerCheckMax), `… and ${list.length - violationsPerCheckMax} more`];
  return { lastSeq, checks, linearizability: result.outcome, counts };
}

async function converge(platform: ChaosPlatform): Promise<WriterView[]> {
  const deadline = Date.now() + convergenceTimeoutMs;
  let views: (WriterView | undefined)[] = [];
  while (Date.now() < deadline) {
    views = await Promise.all(writerIds.map((id) => platform.view(id, true)));
    const present = views.filter((view): view is WriterView => view !== undefined);
    if (present.length === writerIds.length && new Set(present.map((view) => view.lastSeq)).size === 1
      && new Set(present.map((view) => view.appliedIndex)).size === 1 && present.every((view) => view.appliedIndex === view.commitIndex)) return present;
    await sleep(200);
  }
  throw new Error(`the writers did not converge within ${convergenceTimeoutMs} ms: ${JSON.stringify(views)}`);
}

async function lookup(url: string, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let start = 0; start < ids.length; start += lookupChunk) {
    const response = await fetch(`${url}/v1/admin/transfers/lookup`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transferIds: ids.slice(start, start + lookupChunk) }), signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) throw new Error(`lookup on ${url} answered ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as { found: { id: string }[] };
    for (const transfer of body.found) found.add(transfer.id);
  }
  return found;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}
