/**
 * `npm run bench [-- bench:writer bench:query …] [-- --summary-only]`: runs every benchmark of the project one after
 * another (they would disturb each other if run together on 2 cores), streaming their progress,
 * then rewrites the generated summary section of BENCHMARKS.md from the summaries the benchmarks
 * wrote to bench/results/<name>.summary.json (figures, peers measured in the same run, ratios,
 * targets). Benchmarks not run this time keep their last row only if their summary file is still
 * there; the hand-written sections of BENCHMARKS.md are left alone. `--summary-only` runs nothing
 * and rewrites the summary from the summary files already there.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readBenchSummary, renderSummarySection, replaceSummarySection, type BenchSummary } from './report/bench-summary.ts';

/** npm script → the `bench` name its summary file uses. */
const benchmarks: Readonly<Record<string, string>> = {
  'bench:raft': 'raft',
  'bench:log': 'log',
  'bench:writer': 'writer',
  'bench:publisher': 'publisher',
  'bench:projector': 'projector',
  'bench:query': 'query',
};
const root = path.resolve(import.meta.dirname, '..');
const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

async function run(script: string): Promise<{ script: string; code: number | null; seconds: number }> {
  const started = performance.now();
  process.stderr.write(`\n=== npm run ${script} ===\n`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('npm', ['run', '-s', script], { cwd: root, stdio: 'inherit' });
    child.on('exit', (exitCode) => resolve(exitCode));
    child.on('error', () => resolve(null));
  });
  return { script, code, seconds: Math.round((performance.now() - started) / 1000) };
}

const summaryOnly = process.argv.includes('--summary-only');
const only = process.argv.slice(2).filter((argument) => argument !== '--summary-only');
const unknown = only.filter((name) => !(name in benchmarks));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(benchmarks).join(', ')}`);
  process.exit(2);
}
const selected = summaryOnly ? [] : Object.keys(benchmarks).filter((name) => (only.length === 0 || only.includes(name)) && name in scripts);
const results = [];
for (const [index, script] of selected.entries()) {
  process.stderr.write(`\n[${index + 1}/${selected.length}] ${script}\n`);
  results.push(await run(script));
}

const summaries: BenchSummary[] = [];
const missing: string[] = [];
for (const [script, bench] of Object.entries(benchmarks)) {
  const result = results.find((candidate) => candidate.script === script);
  const summary = result === undefined || result.code === 0 ? readBenchSummary(bench) : undefined;
  if (summary === undefined) missing.push(script);
  else summaries.push(summary);
}
const documentPath = path.join(root, 'BENCHMARKS.md');
writeFileSync(documentPath, replaceSummarySection(readFileSync(documentPath, 'utf8'), renderSummarySection(summaries, missing)));

console.log('\nbenchmarks:');
for (const result of results) console.log(`  ${result.script.padEnd(16)} ${result.code === 0 ? 'ok' : `FAILED (exit ${result.code})`}  ${result.seconds} s`);
console.log(`BENCHMARKS.md summary rewritten from ${summaries.length} benchmark summaries${missing.length > 0 ? ` (none from ${missing.join(', ')})` : ''}`);
process.exitCode = results.every((result) => result.code === 0) ? 0 : 1;
