// npm run sim -- --seeds N [--first F] | --seed S  [--nodes 3|5] [--bug <name>]
// Runs the deterministic Raft simulator; prints each failing seed with its trace hash (replay it
// with --seed S) and a summary; exits 1 on any violation.

import { parseArgs } from 'node:util';
import { injectedBugNames, isInjectedBugName, type InjectedBugs } from '../injected-bugs.ts';
import { nodeCountForSeed, runSeeds } from './run-seeds.ts';
import { runSimulation, type SimulationResult } from './simulation.ts';

const progressEverySeeds = 100;

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run sim -- --seeds N [--first F] | --seed S [--nodes 3|5] [--bug ${injectedBugNames.join('|')}]\n`);
  process.exit(2);
}

function describe(result: SimulationResult): string {
  const lines = [`seed ${result.seed} (${result.nodeCount} nodes) trace ${result.traceHash}`];
  for (const violation of result.violations) lines.push(`  ${violation.property} at t=${violation.time}: ${violation.detail.split('\n').slice(0, 12).join('\n    ')}`);
  return lines.join('\n');
}

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    first: { type: 'string' },
    seed: { type: 'string' },
    nodes: { type: 'string' },
    bug: { type: 'string' },
  },
});

let nodeCount: 3 | 5 | undefined;
if (values.nodes !== undefined) {
  if (values.nodes !== '3' && values.nodes !== '5') usage('--nodes must be 3 or 5');
  nodeCount = values.nodes === '3' ? 3 : 5;
}
let bugs: Partial<InjectedBugs> | undefined;
if (values.bug !== undefined) {
  if (!isInjectedBugName(values.bug)) usage(`unknown bug ${values.bug}`);
  bugs = { [values.bug]: true };
}

if (values.seed !== undefined) {
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) usage('--seed must be a non-negative integer');
  const result = runSimulation({ seed, nodeCount: nodeCountForSeed(seed, nodeCount), bugs });
  const { stats } = result;
  process.stdout.write(`${describe(result)}\n`);
  process.stdout.write(
    `  events ${stats.events}, messages ${stats.messagesDelivered}, elections ${stats.elections}, crashes ${stats.crashes}, ` +
    `membership changes ${stats.membershipChanges}, snapshot chunks ${stats.snapshotsSent}, committed ${stats.committedIndex}, ` +
    `operations ${stats.operations} (linearizability ${stats.linearizability}), liveness after ${stats.livenessTime}\n`,
  );
  process.exit(result.violations.length > 0 ? 1 : 0);
} else {
  const seedCount = Number(values.seeds ?? '100');
  const firstSeed = Number(values.first ?? '1');
  if (!Number.isSafeInteger(seedCount) || seedCount < 1) usage('--seeds must be a positive integer');
  if (!Number.isSafeInteger(firstSeed) || firstSeed < 0) usage('--first must be a non-negative integer');
  const startedMs = performance.now();
  const totals = { operations: 0, elections: 0, crashes: 0, membershipChanges: 0, snapshotChunks: 0, committed: 0, linearizabilityUnknown: 0 };
  const summary = runSeeds({
    firstSeed,
    seedCount,
    nodeCount,
    bugs,
    onResult(result, completed) {
      totals.operations += result.stats.operations;
      totals.elections += result.stats.elections;
      totals.crashes += result.stats.crashes;
      totals.membershipChanges += result.stats.membershipChanges;
      totals.snapshotChunks += result.stats.snapshotsSent;
      totals.committed += result.stats.committedIndex;
      if (result.stats.linearizability === 'unknown') totals.linearizabilityUnknown++;
      if (result.violations.length > 0) process.stdout.write(`VIOLATION ${describe(result)}\n`);
      if (completed % progressEverySeeds === 0 || completed === seedCount) {
        const seconds = (performance.now() - startedMs) / 1000;
        process.stdout.write(`${completed}/${seedCount} seeds, ${seconds.toFixed(1)} s\n`);
      }
    },
  });
  const seconds = (performance.now() - startedMs) / 1000;
  process.stdout.write(
    `${summary.seedsRun} seeds (first ${firstSeed}${bugs === undefined ? '' : `, bug ${values.bug}`}): ` +
    `${summary.failures.length} with violations, ${seconds.toFixed(1)} s\n` +
    `  totals: ${totals.committed} entries committed, ${totals.operations} client operations checked for linearizability, ` +
    `${totals.elections} elections, ${totals.crashes} crashes, ${totals.membershipChanges} membership changes, ` +
    `${totals.snapshotChunks} snapshot chunks sent, ${totals.linearizabilityUnknown} histories too hard to check in time\n`,
  );
  process.exit(summary.failures.length > 0 ? 1 : 0);
}
