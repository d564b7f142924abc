/**
 * One read at the consistency a request asked for (DESIGN.md §7):
 *
 *   1. strong: a barrier from the writer cluster (a call started after this read arrived) gives
 *      the floor `{shard, seq}`; a token gives a floor on its shard;
 *   2. wait (LISTEN, bounded by the request's deadline) until the live checkpoint of each floor's
 *      shard reaches it;
 *   3. read — one statement, one snapshot — and check its `asOf` against the floors of the row's
 *      shard (`minSeq` applies to the shard that owns the resource, known only now); if the row is
 *      older (a minSeq on a shard not waited for, or a checkpoint heard ahead of the snapshot), wait
 *      for that shard and read again, at most `readAttemptsMax` times.
 *
 * The answer is never older than asked: past the deadline it is a timeout carrying the current
 * `asOf`, never a stale row. A not-found with `minSeq` (owning shard unknown) is answered only
 * after every shard (0..shards-1) reached minSeq.
 */
import type { BarrierClient } from './barrier-client.ts';
import type { CheckpointWaiter } from './checkpoint-waiter.ts';
import type { ReadRequirement } from './consistency.ts';
import type { ReadError, ReadResult } from './ledger-reads.ts';
import type { AsOf } from './read-schemas.ts';

/** Reads of one request, at most (a second read is rare; a third means the checkpoint moved back). */
export const readAttemptsMax = 4;

export type ConsistentReadOutcome<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'not_found'; readonly error: ReadError }
  | { readonly kind: 'timeout'; readonly asOf: AsOf | null; readonly message: string }
  | { readonly kind: 'unavailable'; readonly code: string; readonly message: string; readonly retryAfterSeconds: number };

export interface ConsistencyServices {
  readonly waiter: CheckpointWaiter;
  readonly barrier: BarrierClient;
  /** Number of shards (LEDGER_SHARDS): a not-found under minSeq waits for all of them. */
  readonly shards: number;
}

const overloadedRetryAfterSeconds = 1;

function raceDeadline<T>(promise: Promise<T>, remainingMs: number): Promise<T | 'deadline'> {
  if (remainingMs <= 0) return Promise.resolve('deadline');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), remainingMs)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export async function consistentRead<T extends { readonly asOf: AsOf }>(
  services: ConsistencyServices,
  requirement: ReadRequirement,
  read: () => Promise<ReadResult<T>>,
): Promise<ConsistentReadOutcome<T>> {
  if (requirement.level === 'eventual' && requirement.floors.length === 0) {
    const result = await read();
    return result.ok ? { kind: 'ok', value: result.value } : { kind: 'not_found', error: result.error };
  }
  const { waiter, barrier } = services;
  const deadline = performance.now() + requirement.timeoutMs;
  const remaining = () => deadline - performance.now();
  const current = (shard: number): AsOf => ({ shard, seq: waiter.checkpoint(shard) });
  const timedOut = (asOf: AsOf | null, waitingFor: string): ConsistentReadOutcome<T> => ({
    kind: 'timeout', asOf, message: `the projection did not reach ${waitingFor} within ${requirement.timeoutMs} ms`,
  });

  /** Known-shard floors: shard → seq. */
  const floors = new Map<number, number>();
  const raise = (shard: number, seq: number) => floors.set(shard, Math.max(floors.get(shard) ?? 0, seq));
  let barrierShard: number | undefined;
  if (requirement.level === 'strong') {
    const answer = await raceDeadline(barrier.barrier(), remaining());
    if (answer === 'deadline') {
      const shard = barrier.shard;
      return { kind: 'timeout', asOf: shard === undefined ? null : current(shard), message: `the writer barrier did not answer within ${requirement.timeoutMs} ms` };
    }
    if (!answer.ok) {
      if (answer.code === 'overloaded') return { kind: 'unavailable', code: 'overloaded', message: 'too many strong reads wait for a barrier; retry', retryAfterSeconds: overloadedRetryAfterSeconds };
      return { kind: 'unavailable', code: answer.code, message: answer.message, retryAfterSeconds: answer.retryAfterSeconds };
    }
    barrierShard = answer.position.shard;
    raise(answer.position.shard, answer.position.seq);
  }
  let resourceFloor: number | undefined;
  for (const floor of requirement.floors) {
    if (floor.shard === undefined) resourceFloor = Math.max(resourceFloor ?? 0, floor.seq);
    else raise(floor.shard, floor.seq);
  }

  const waitFor = async (shard: number, seq: number): Promise<ConsistentReadOutcome<T> | undefined> => {
    const outcome = await waiter.waitFor(shard, seq, remaining());
    switch (outcome) {
      case 'immediate':
      case 'reached':
        return undefined;
      case 'timeout':
        return timedOut(current(shard), `seq ${seq} on shard ${shard}`);
      case 'overloaded':
        return { kind: 'unavailable', code: 'overloaded', message: 'too many reads wait for the projection; retry', retryAfterSeconds: overloadedRetryAfterSeconds };
      case 'stopped':
        return { kind: 'unavailable', code: 'stopping', message: 'the query API is shutting down', retryAfterSeconds: overloadedRetryAfterSeconds };
      default: {
        const _exhaustive: never = outcome;
        throw new Error(`unknown wait outcome ${String(_exhaustive)}`);
      }
    }
  };

  for (const [shard, seq] of floors) {
    const failed = await waitFor(shard, seq);
    if (failed !== undefined) return failed;
  }

  let everyShardWaited = false;
  for (let attempt = 1; attempt <= readAttemptsMax; attempt += 1) {
    const result = await read();
    if (!result.ok) {
      if (resourceFloor === undefined || everyShardWaited) return { kind: 'not_found', error: result.error };
      // The owning shard is unknown: the resource is absent only if absent once every shard reached minSeq.
      for (let shard = 0; shard < services.shards; shard += 1) {
        const failed = await waitFor(shard, Math.max(resourceFloor, floors.get(shard) ?? 0));
        if (failed !== undefined) return failed;
      }
      everyShardWaited = true;
      continue;
    }
    const { asOf } = result.value;
    if (barrierShard !== undefined && asOf.shard !== barrierShard) {
      return {
        kind: 'unavailable', code: 'strong_read_unavailable', retryAfterSeconds: overloadedRetryAfterSeconds,
        message: `the resource lives on shard ${asOf.shard}; strong reads are served for shard ${barrierShard} (the writer cluster of WRITER_URLS)`,
      };
    }
    const needed = Math.max(floors.get(asOf.shard) ?? 0, resourceFloor ?? 0);
    if (asOf.seq >= needed) return { kind: 'ok', value: result.value };
    // Older than asked: the shard was not waited for yet (minSeq), or what we heard ran ahead of
    // this snapshot (e.g. a version switch) — re-read the checkpoints before trusting them again.
    if (waiter.checkpoint(asOf.shard) >= needed) await waiter.refresh();
    raise(asOf.shard, needed);
    const failed = await waitFor(asOf.shard, needed);
    if (failed !== undefined) return failed.kind === 'timeout' ? timedOut(asOf.seq > current(asOf.shard).seq ? asOf : current(asOf.shard), `seq ${needed} on shard ${asOf.shard}`) : failed;
  }
  const shard = barrierShard ?? [...floors.keys()][0];
  return timedOut(shard === undefined ? null : current(shard), `a consistent snapshot after ${readAttemptsMax} reads`);
}
