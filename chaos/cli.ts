/**
 * `npm run chaos -- [--runs N] [--seed S] [--faults kill_leader,partition_node,…] [--report-dir DIR] [--keep-data]`
 *
 * Runs N chaos runs one after another with seeds S, S+1, …, each on a freshly started platform,
 * writes chaos-report.json and chaos-report.md, and exits non-zero on any violation (printing the
 * seed to replay) or when the p99 write unavailability after leader kills exceeds 1 s.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../common/logger.ts';
import { faultKinds, type FaultKind } from './fault-schedule.ts';
import { summarize, writeReports } from './report.ts';
import { runChaos, type ChaosRunResult } from './run-chaos.ts';

const runsMax = 1_000;

function fail(message: string): never {
  console.error(`chaos: ${message}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    seed: { type: 'string' },
    faults: { type: 'string' },
    'report-dir': { type: 'string', default: path.join('.data', 'chaos') },
    'keep-data': { type: 'boolean', default: false },
  },
  strict: true,
});
const runs = Number(values.runs);
if (!Number.isSafeInteger(runs) || runs < 1 || runs > runsMax) fail(`--runs must be an integer in 1..${runsMax}, got ${values.runs}`);
const firstSeed = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(values.seed);
if (!Number.isSafeInteger(firstSeed) || firstSeed < 0) fail(`--seed must be a non-negative integer, got ${values.seed}`);
let kinds: FaultKind[] | undefined;
if (values.faults !== undefined) {
  kinds = values.faults.split(',').map((kind) => kind.trim()) as FaultKind[];
  const unknown = kinds.filter((kind) => !faultKinds.includes(kind));
  if (unknown.length > 0 || kinds.length === 0) fail(`--faults takes a comma-separated list of ${faultKinds.join(', ')}; unknown: ${unknown.join(', ')}`);
}

const log = createLogger('chaos', process.env.LOG_LEVEL === undefined ? 'info' : (process.env.LOG_LEVEL as 'info'));
const results: ChaosRunResult[] = [];
for (let run = 0; run < runs; run += 1) {
  const seed = firstSeed + run;
  log.info({ run: run + 1, of: runs, seed }, 'chaos: run starting');
  const result = await runChaos({ seed, log, ...(kinds === undefined ? {} : { kinds }), keepData: values['keep-data'] });
  results.push(result);
  log.info({ run: run + 1, of: runs, seed, passed: result.passed, seconds: Math.round(result.durationMs / 1000), violations: result.violations.length }, 'chaos: run finished');
  if (!result.passed) {
    console.error(`chaos: seed ${seed} FAILED — replay with: npm run chaos -- --seed ${seed} --runs 1\n  ${result.violations.slice(0, 10).map((violation) => violation.split('\n')[0]).join('\n  ')}`);
    if (result.error !== undefined) console.error(`chaos: seed ${seed}: ${result.error.slice(0, 4_000)}`);
  }
}
const summary = summarize(results);
const reports = writeReports(values['report-dir'], results, summary);
console.log(`chaos: ${summary.passedRuns}/${summary.runs} runs passed; leader-kill unavailability p50 ${summary.leaderKillUnavailabilityMs.p50} ms, p99 ${summary.leaderKillUnavailabilityMs.p99} ms (≤ 1000 ms: ${summary.unavailabilityTargetMet ? 'met' : 'NOT met'})`);
console.log(`chaos: reports ${reports.json} and ${reports.markdown}`);
if (!summary.passed) {
  if (summary.failedSeeds.length > 0) console.error(`chaos: failed seeds: ${summary.failedSeeds.join(', ')}`);
  process.exitCode = 1;
}
