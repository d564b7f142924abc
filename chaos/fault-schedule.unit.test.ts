import { describe, expect, it } from 'vitest';
import { faultKinds, faultSchedule, recoveryAllowanceMs, scheduleEndMs, scheduleLimitsDefault } from './fault-schedule.ts';

describe('fault schedule', () => {
  it('replays: the same seed gives the same schedule, another seed a different one', () => {
    expect(faultSchedule(42)).toEqual(faultSchedule(42));
    const seeds = Array.from({ length: 20 }, (_, seed) => JSON.stringify(faultSchedule(seed)));
    expect(new Set(seeds).size).toBeGreaterThan(15);
  });

  it('injects every kind at least once, plus the extra faults', () => {
    for (let seed = 0; seed < 200; seed += 1) {
      const schedule = faultSchedule(seed);
      expect(schedule).toHaveLength(faultKinds.length + scheduleLimitsDefault.extraFaults);
      for (const kind of faultKinds) expect(schedule.some((fault) => fault.kind === kind), `seed ${seed} lacks ${kind}`).toBe(true);
    }
  });

  it('never overlaps faults, starts after the warm-up, and gives pauses and partitions a duration past the election timeout', () => {
    for (let seed = 0; seed < 200; seed += 1) {
      const schedule = faultSchedule(seed);
      expect(schedule[0]!.atMs).toBe(scheduleLimitsDefault.warmUpMs);
      for (let index = 1; index < schedule.length; index += 1) {
        const previous = schedule[index - 1]!;
        expect(schedule[index]!.atMs).toBeGreaterThanOrEqual(previous.atMs + previous.durationMs + recoveryAllowanceMs + scheduleLimitsDefault.gapMsMin);
      }
      for (const fault of schedule) {
        if (fault.kind === 'pause_leader' || fault.kind === 'partition_node') expect(fault.durationMs).toBeGreaterThanOrEqual(2_500);
        else expect(fault.durationMs).toBe(0);
      }
      expect(scheduleEndMs(schedule)).toBe(schedule.at(-1)!.atMs + schedule.at(-1)!.durationMs + recoveryAllowanceMs);
    }
  });

  it('can be restricted to some kinds', () => {
    const schedule = faultSchedule(7, { ...scheduleLimitsDefault, extraFaults: 2 }, ['kill_leader']);
    expect(schedule.map((fault) => fault.kind)).toEqual(['kill_leader', 'kill_leader', 'kill_leader']);
    expect(() => faultSchedule(7, scheduleLimitsDefault, [])).toThrow(/at least one fault kind/);
  });
});
