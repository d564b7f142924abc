/**
 * How a benchmark run shared the machine's cores: CPU seconds of given processes and of the whole
 * machine, read from /proc (Linux). Where /proc is missing the figures are simply absent.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

const clockTicksPerSecond = readClockTicks();

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** User + system CPU seconds the process has used so far; undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": state, ppid, … utime and stime are the 12th and 13th of them.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
  } catch {
    return undefined;
  }
}

/** CPU seconds all cores spent busy (everything but idle and iowait) since boot. */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((row) => row.startsWith('cpu '));
    if (line === undefined) return undefined;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) / clockTicksPerSecond;
  } catch {
    return undefined;
  }
}

/**
 * CPU use of named processes between `start` and `stop`, in cores (CPU seconds per second of wall
 * time), and of the whole machine; "other" is the machine minus the named processes.
 */
export class CpuShare {
  readonly #pids: ReadonlyMap<string, number>;
  readonly #before = new Map<string, number>();
  #machineBefore: number | undefined;
  #startedMs = 0;

  /** Named processes; a name without a pid (not started, or not ours to see) is left out. */
  constructor(pids: Iterable<readonly [string, number | undefined]>) {
    this.#pids = new Map([...pids].filter((entry): entry is readonly [string, number] => entry[1] !== undefined));
  }

  start(): void {
    this.#startedMs = performance.now();
    this.#machineBefore = machineBusySeconds();
    for (const [name, pid] of this.#pids) {
      const seconds = processCpuSeconds(pid);
      if (seconds !== undefined) this.#before.set(name, seconds);
    }
  }

  /** Cores used per process since `start` (processes that died meanwhile are left out), plus `machine` and `other`. */
  stop(): Map<string, number> {
    const wallSeconds = (performance.now() - this.#startedMs) / 1000;
    const cores = new Map<string, number>();
    let named = 0;
    for (const [name, pid] of this.#pids) {
      const before = this.#before.get(name);
      const after = processCpuSeconds(pid);
      if (before === undefined || after === undefined) continue;
      cores.set(name, (after - before) / wallSeconds);
      named += after - before;
    }
    const machineAfter = machineBusySeconds();
    if (this.#machineBefore !== undefined && machineAfter !== undefined) {
      cores.set('other', Math.max(0, machineAfter - this.#machineBefore - named) / wallSeconds);
      cores.set('machine', (machineAfter - this.#machineBefore) / wallSeconds);
    }
    return cores;
  }
}

/** "writer-1 0.95 · broker 0.31 · … · machine 1.97 of 2 cores". */
export function describeCores(cores: ReadonlyMap<string, number>): string {
  const parts = [...cores].filter(([name]) => name !== 'machine').map(([name, value]) => `${name} ${value.toFixed(2)}`);
  const machine = cores.get('machine');
  if (machine !== undefined) parts.push(`machine ${machine.toFixed(2)} of ${os.cpus().length} cores`);
  return parts.join(' · ');
}
