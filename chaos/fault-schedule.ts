/**
 * The faults of one chaos run, decided up front from the run's seed so that a failing run can be
 * replayed: which fault, when (ms after the workload starts) and for how long it lasts where a
 * fault has a duration. Pure: no clock, no randomness but the seeded generator.
 *
 * Every kind appears at least once per run (the list of faults), in a seeded order, with
 * seeded gaps between them; faults never overlap, so each one's effect (for example the write
 * unavailability after a leader kill) is measured on its own.
 */
import { Prng } from '../writer/raft/sim/prng.ts';

export const faultKinds = [
  'kill_leader', 'pause_leader', 'kill_follower', 'restart_kafka', 'restart_postgres', 'kill_projector', 'partition_node',
] as const;

export type FaultKind = (typeof faultKinds)[number];

export interface ScheduledFault {
  readonly kind: FaultKind;
  /** When to inject it, ms after the workload started. */
  readonly atMs: number;
  /** How long a pause or partition lasts before it is healed; 0 for kills and restarts. */
  readonly durationMs: number;
}

export interface ScheduleLimits {
  /** Quiet time after the workload starts and before the first fault. */
  readonly warmUpMs: number;
  /** Gap between the end of one fault and the next, drawn from [min, max]. */
  readonly gapMsMin: number;
  readonly gapMsMax: number;
  /**
   * Pause and partition lengths, drawn from [min, max]: longer than the writers' longest election
   * timeout (twice WRITER_ELECTION_TIMEOUT_MS, 2 s by default), so a paused or cut-off leader is
   * replaced while it is away.
   */
  readonly disruptionMsMin: number;
  readonly disruptionMsMax: number;
  /** Extra faults (beyond one of each kind), drawn from all kinds. */
  readonly extraFaults: number;
}

export const scheduleLimitsDefault: ScheduleLimits = {
  warmUpMs: 3_000,
  gapMsMin: 3_000,
  gapMsMax: 6_000,
  disruptionMsMin: 2_500,
  disruptionMsMax: 4_000,
  extraFaults: 3,
};

/** Time a kill or restart is given before the next fault is considered (the restart itself). */
export const recoveryAllowanceMs = 2_000;

export function faultSchedule(seed: number, limits: ScheduleLimits = scheduleLimitsDefault, kinds: readonly FaultKind[] = faultKinds): ScheduledFault[] {
  if (kinds.length === 0) throw new RangeError('a chaos run needs at least one fault kind');
  if (limits.gapMsMin > limits.gapMsMax || limits.disruptionMsMin > limits.disruptionMsMax) throw new RangeError('schedule limits: min exceeds max');
  const random = new Prng(seed);
  const order = [...kinds];
  for (let extra = 0; extra < limits.extraFaults; extra += 1) order.push(random.pick(kinds));
  shuffle(order, random);
  const faults: ScheduledFault[] = [];
  let at = limits.warmUpMs;
  for (const kind of order) {
    const durationMs = hasDuration(kind) ? random.between(limits.disruptionMsMin, limits.disruptionMsMax) : 0;
    faults.push({ kind, atMs: at, durationMs });
    at += durationMs + recoveryAllowanceMs + random.between(limits.gapMsMin, limits.gapMsMax);
  }
  return faults;
}

/** When the last fault of a schedule has been healed and given its recovery allowance. */
export function scheduleEndMs(faults: readonly ScheduledFault[]): number {
  const last = faults.at(-1);
  return last === undefined ? 0 : last.atMs + last.durationMs + recoveryAllowanceMs;
}

function hasDuration(kind: FaultKind): boolean {
  return kind === 'pause_leader' || kind === 'partition_node';
}

function shuffle<T>(items: T[], random: Prng): void {
  for (let index = items.length - 1; index > 0; index -= 1) {
    const other = random.below(index + 1);
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
}
