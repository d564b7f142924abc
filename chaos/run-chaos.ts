/**
 * One chaos run: start the platform, create the workload's accounts, run the workload while the
 * seeded schedule injects its faults (each checked to have really happened), heal everything,
 * stop the workload and verify. The result says what was injected, with evidence, the write
 * unavailability after each leader kill, and every violation found.
 */
import type { Logger } from '../common/logger.ts';
import { Prng } from '../writer/raft/sim/prng.ts';
import { ChaosPlatform, sleep, writerIds, type WriterView } from './chaos-platform.ts';
import { faultSchedule, scheduleEndMs, scheduleLimitsDefault, type FaultKind, type ScheduleLimits, type ScheduledFault } from './fault-schedule.ts';
import { verifyRun, type Verification } from './verify.ts';
import { Workload, workloadSettingsDefault, type WorkloadSettings } from './workload.ts';

/** A killed writer or projector stays down this long before it is restarted. */
export const downtimeMs = 1_000;
const progressEveryMs = 5_000;

export interface ChaosRunOptions {
  readonly seed: number;
  readonly log: Logger;
  readonly kinds?: readonly FaultKind[];
  readonly limits?: ScheduleLimits;
  readonly workload?: Partial<WorkloadSettings>;
  /** Keep the run's data directory (logs, Kafka, Postgres) even when it passed. */
  readonly keepData?: boolean;
}

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly scheduledAtMs: number;
  readonly injectedAtMs: number;
  readonly target: string;
  /** What shows the fault happened (pid gone, process stopped, commit index frozen). */
  readonly evidence: string;
  /** Epoch ms at the moment the signal was sent (kills and pauses); unavailability is measured from here. */
  readonly signalledAtEpochMs?: number;
  /** For leader kills and pauses: time from the fault to the next acknowledged write. */
  unavailabilityMs?: number | null;
}

export interface ChaosRunResult {
  readonly seed: number;
  readonly passed: boolean;
  readonly durationMs: number;
  readonly schedule: readonly ScheduledFault[];
  readonly faults: readonly FaultRecord[];
  readonly verification: Verification | undefined;
  /** A failure of the run itself (a fault that could not be injected or checked, a platform that did not start). */
  readonly error: string | undefined;
  readonly violations: readonly string[];
  readonly supervisedRestarts: Record<string, number>;
  readonly dataDir: string | undefined;
}

export async function runChaos(options: ChaosRunOptions): Promise<ChaosRunResult> {
  const { seed, log } = options;
  const started = Date.now();
  const schedule = faultSchedule(seed, options.limits ?? scheduleLimitsDefault, options.kinds);
  const faults: FaultRecord[] = [];
  let verification: Verification | undefined;
  let error: string | undefined;
  let platform: ChaosPlatform | undefined;
  let keepData = options.keepData ?? false;
  let supervisedRestarts: Record<string, number> = {};
  try {
    platform = await ChaosPlatform.start({ log, keepData: true });
    const running = platform;
    const workload = new Workload({ ...workloadSettingsDefault, ...options.workload, seed }, {
      writerUrls: () => running.writerUrls, queryUrl: () => running.queryUrl,
    }, log);
    await workload.createAccounts();
    workload.start();
    const progress = setInterval(() => workload.logProgress(), progressEveryMs);
    const random = new Prng(seed ^ 0x5eed);
    const workloadStarted = Date.now();
    try {
      for (const fault of schedule) {
        const wait = workloadStarted + fault.atMs - Date.now();
        if (wait > 0) await sleep(wait);
        log.info({ kind: fault.kind, atMs: fault.atMs }, 'chaos: injecting fault');
        faults.push(await inject(running, fault, random, workloadStarted));
      }
      const end = workloadStarted + scheduleEndMs(schedule) - Date.now();
      if (end > 0) await sleep(end);
    } finally {
      clearInterval(progress);
      await workload.stop();
    }
    for (const fault of faults) {
      if (fault.kind === 'kill_leader' || fault.kind === 'pause_leader') {
        fault.unavailabilityMs = workload.firstAcknowledgementAfter(fault.signalledAtEpochMs ?? workloadStarted + fault.injectedAtMs) ?? null;
      }
    }
    workload.logProgress();
    await running.healAll();
    verification = await verifyRun(running, workload, log);
    supervisedRestarts = running.supervisedRestarts;
  } catch (caught) {
    error = (caught as Error).stack ?? String(caught);
  }
  const violations = [
    ...(error === undefined ? [] : [`run failed: ${error}`]),
    ...Object.entries(verification?.checks ?? {}).flatMap(([check, list]) => list.map((violation) => `${check}: ${violation}`)),
  ];
  const passed = violations.length === 0;
  let dataDir: string | undefined;
  if (platform !== undefined) {
    if (!passed) keepData = true;
    if (keepData) {
      platform.saveLogs();
      dataDir = platform.root;
    }
    await platform.stop();
    if (!keepData) dataDir = undefined;
    else log.info({ dataDir }, 'chaos: kept the run data directory');
  }
  return { seed, passed, durationMs: Date.now() - started, schedule, faults, verification, error, violations, supervisedRestarts, dataDir };
}

async function inject(platform: ChaosPlatform, fault: ScheduledFault, random: Prng, workloadStarted: number): Promise<FaultRecord> {
  const injectedAtMs = Date.now() - workloadStarted;
  const record = (target: string, evidence: string, signalledAtEpochMs?: number): FaultRecord => ({
    kind: fault.kind, scheduledAtMs: fault.atMs, injectedAtMs, target, evidence, ...(signalledAtEpochMs === undefined ? {} : { signalledAtEpochMs }),
  });
  switch (fault.kind) {
    case 'kill_leader': {
      const leader = await platform.leader();
      const signalledAt = Date.now();
      const pid = await platform.killWriter(leader);
      await sleep(downtimeMs);
      await platform.restartWriter(leader);
      return record(`writer ${leader}`, `SIGKILL pid ${pid}; pid gone`, signalledAt);
    }
    case 'pause_leader': {
      const leader = await platform.leader();
      const signalledAt = Date.now();
      const pid = await platform.pauseWriter(leader);
      await sleep(fault.durationMs);
      let successor = 'none';
      try {
        successor = await platform.leader(1);
      } catch {
        // no agreed leader at this instant: the evidence says so
      }
      platform.resumeWriter(leader);
      return record(`writer ${leader}`, `SIGSTOP pid ${pid} (state T) for ${fault.durationMs} ms; leader at the end of the pause: ${successor}`, signalledAt);
    }
    case 'kill_follower': {
      const leader = await platform.leader();
      const followers = writerIds.filter((id) => id !== leader && platform.isWriterRunning(id));
      const follower = random.pick(followers);
      const pid = await platform.killWriter(follower);
      await sleep(downtimeMs);
      await platform.restartWriter(follower);
      return record(`writer ${follower}`, `SIGKILL pid ${pid}; pid gone`);
    }
    case 'restart_kafka': {
      const pid = await platform.restartKafka();
      return record('kafka', `SIGKILL broker pid ${pid}; pid gone; broker started again`);
    }
    case 'restart_postgres': {
      const pid = await platform.restartPostgres();
      return record('postgres', `SIGKILL postmaster pid ${pid}; pid gone; server started again (crash recovery)`);
    }
    case 'kill_projector': {
      const pid = await platform.killProjector();
      await sleep(downtimeMs);
      await platform.restartProjector();
      return record('projector', `SIGKILL pid ${pid}; pid gone`);
    }
    case 'partition_node': {
      const target = random.pick(writerIds);
      platform.partition(target);
      await sleep(300);
      const before = await views(platform);
      await sleep(Math.max(0, fault.durationMs - 300));
      const after = await views(platform);
      platform.healPartitions();
      const isolatedBefore = before.get(target)?.commitIndex;
      const isolatedAfter = after.get(target)?.commitIndex;
      const othersAdvanced = writerIds.filter((id) => id !== target).some((id) => (after.get(id)?.commitIndex ?? 0) > (before.get(id)?.commitIndex ?? Infinity));
      if (isolatedBefore === undefined || isolatedAfter === undefined) throw new Error(`partition of writer ${target}: its client API did not answer`);
      if (isolatedAfter > isolatedBefore) throw new Error(`partition of writer ${target} did not take: its commit index moved ${isolatedBefore} → ${isolatedAfter}`);
      return record(`writer ${target}`, `cut off from both peers for ${fault.durationMs} ms; its commit index stayed at ${isolatedAfter}; the others ${othersAdvanced ? 'advanced' : 'did not advance (no writes in that window)'}`);
    }
    default: {
      const unreachable: never = fault.kind;
      throw new Error(`unknown fault ${String(unreachable)}`);
    }
  }
}

async function views(platform: ChaosPlatform): Promise<Map<string, WriterView>> {
  const map = new Map<string, WriterView>();
  for (const id of writerIds) {
    const view = await platform.view(id);
    if (view !== undefined) map.set(id, view);
  }
  return map;
}
