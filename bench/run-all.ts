/**
 * `npm run bench`: runs every benchmark of the project one after another (they would disturb each
 * other if run together on 2 cores), streaming their progress, and ends with a summary of which
 * finished. Figures go to each benchmark's output and bench/results/; BENCHMARKS.md records them.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const benchmarks = ['bench:raft', 'bench:log', 'bench:writer', 'bench:projector'];
const root = path.resolve(import.meta.dirname, '..');

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

const only = process.argv.slice(2);
const results = [];
for (const script of benchmarks.filter((name) => only.length === 0 || only.includes(name))) results.push(await run(script));
console.log('\nbenchmarks:');
for (const result of results) console.log(`  ${result.script.padEnd(16)} ${result.code === 0 ? 'ok' : `FAILED (exit ${result.code})`}  ${result.seconds} s`);
process.exitCode = results.every((result) => result.code === 0) ? 0 : 1;
