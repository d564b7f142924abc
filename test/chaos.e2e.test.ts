/**
 * The bounded chaos run inside `npm test` (issue #8): the whole platform as real processes
 * (private Kafka broker and embedded Postgres, so restarting them disturbs no other test), one
 * seeded run with every fault kind once and short gaps. It fails on any violation and when a
 * fault was not really injected (the run checks each killed pid is gone, each paused process is
 * stopped, each partitioned node's commit index stood still). `npm run chaos -- --runs 20` is the
 * long version.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import { faultKinds } from '../chaos/fault-schedule.ts';
import { runChaos } from '../chaos/run-chaos.ts';

const runBudgetMs = 280_000;

describe('chaos (bounded)', () => {
  it('loses and duplicates nothing acknowledged while every kind of fault is injected', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 1_000_000));
    const log = createLogger('chaos', 'warn');
    const result = await runChaos({
      seed, log,
      limits: { warmUpMs: 2_000, gapMsMin: 1_500, gapMsMax: 2_500, disruptionMsMin: 2_500, disruptionMsMax: 3_000, extraFaults: 0 },
      workload: { writerClients: 3, linearizabilityClients: 2, readYourWritesClients: 1 },
    });
    const replay = `replay with CHAOS_SEED=${seed} or npm run chaos -- --seed ${seed} --runs 1`;
    expect(result.violations, `${replay}\n${result.violations.join('\n')}`).toEqual([]);
    expect(result.faults.map((fault) => fault.kind).sort(), replay).toEqual([...faultKinds].sort());
    for (const fault of result.faults) {
      if (fault.kind.startsWith('kill') || fault.kind.startsWith('restart')) expect(fault.evidence, `${fault.kind}: ${replay}`).toMatch(/pid \d+.*gone/);
    }
    const counts = result.verification!.counts;
    expect(counts.acknowledgedTransfers, replay).toBeGreaterThan(100);
    expect(counts.kafkaMessages, replay).toBe(counts.lastSeq);
    expect(counts.linearizabilityOperations, replay).toBeGreaterThan(20);
  }, runBudgetMs + 20_000);
});
