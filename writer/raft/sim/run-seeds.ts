// Runs many seeds of the simulator (for the CLI and for tests).

import type { InjectedBugs } from '../injected-bugs.ts';
import { runSimulation, type SimulationOptions, type SimulationResult } from './simulation.ts';

export interface RunSeedsOptions {
  readonly firstSeed: number;
  readonly seedCount: number;
  /** A fixed cluster size, or alternate 3 and 5 nodes by seed. */
  readonly nodeCount?: 3 | 5;
  readonly bugs?: Partial<InjectedBugs>;
  /** Stop after this many failing seeds. */
  readonly failuresMax?: number;
  readonly overrides?: Partial<Pick<SimulationOptions, 'safetyTime' | 'livenessTimeMax'>>;
  readonly onResult?: (result: SimulationResult, completed: number) => void;
}

export interface RunSeedsSummary {
  readonly seedsRun: number;
  readonly failures: readonly SimulationResult[];
}

export function nodeCountForSeed(seed: number, fixed: 3 | 5 | undefined): 3 | 5 {
  return fixed ?? (seed % 2 === 0 ? 3 : 5);
}

export function runSeeds(options: RunSeedsOptions): RunSeedsSummary {
  const failures: SimulationResult[] = [];
  const failuresMax = options.failuresMax ?? Number.POSITIVE_INFINITY;
  let seedsRun = 0;
  for (let i = 0; i < options.seedCount; i++) {
    const seed = options.firstSeed + i;
    const result = runSimulation({ seed, nodeCount: nodeCountForSeed(seed, options.nodeCount), bugs: options.bugs, ...options.overrides });
    seedsRun++;
    if (result.violations.length > 0) failures.push(result);
    options.onResult?.(result, seedsRun);
    if (failures.length >= failuresMax) break;
  }
  return { seedsRun, failures };
}
