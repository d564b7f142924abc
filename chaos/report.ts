/**
 * The chaos report: every run's faults (with evidence), counts, violations, and the write
 * unavailability after leader kills summarised over all runs (p50/p99/max against the 1 s
 * target). Written as JSON (for tools) and Markdown (for people).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChaosRunResult } from './run-chaos.ts';

export const unavailabilityP99MsMax = 1_000;

export interface ChaosSummary {
  readonly runs: number;
  readonly passedRuns: number;
  readonly failedSeeds: number[];
  readonly leaderKillUnavailabilityMs: { readonly count: number; readonly p50: number | null; readonly p99: number | null; readonly max: number | null; readonly missing: number };
  readonly unavailabilityTargetMet: boolean;
  readonly passed: boolean;
}

export function summarize(results: readonly ChaosRunResult[]): ChaosSummary {
  const samples: number[] = [];
  let missing = 0;
  for (const result of results) {
    for (const fault of result.faults) {
      if (fault.kind !== 'kill_leader') continue;
      if (typeof fault.unavailabilityMs === 'number') samples.push(fault.unavailabilityMs);
      else missing += 1;
    }
  }
  samples.sort((left, right) => left - right);
  const p99 = percentile(samples, 0.99);
  const failedSeeds = results.filter((result) => !result.passed).map((result) => result.seed);
  const unavailabilityTargetMet = missing === 0 && (p99 === null || p99 <= unavailabilityP99MsMax);
  return {
    runs: results.length,
    passedRuns: results.length - failedSeeds.length,
    failedSeeds,
    leaderKillUnavailabilityMs: { count: samples.length, p50: percentile(samples, 0.5), p99, max: samples.at(-1) ?? null, missing },
    unavailabilityTargetMet,
    passed: failedSeeds.length === 0 && unavailabilityTargetMet,
  };
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: readonly number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

export function writeReports(directory: string, results: readonly ChaosRunResult[], summary: ChaosSummary): { json: string; markdown: string } {
  mkdirSync(directory, { recursive: true });
  const json = path.join(directory, 'chaos-report.json');
  const markdown = path.join(directory, 'chaos-report.md');
  writeFileSync(json, `${JSON.stringify({ machine: machine(), summary, runs: results }, null, 2)}\n`);
  writeFileSync(markdown, renderMarkdown(results, summary));
  return { json, markdown };
}

function machine(): Record<string, unknown> {
  return { cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverage: os.loadavg().map((load) => Number(load.toFixed(2))) };
}

export function renderMarkdown(results: readonly ChaosRunResult[], summary: ChaosSummary): string {
  const unavailability = summary.leaderKillUnavailabilityMs;
  const lines = [
    '# Chaos report',
    '',
    `${summary.passed ? 'PASSED' : 'FAILED'}: ${summary.passedRuns}/${summary.runs} runs without violation` +
      (summary.failedSeeds.length > 0 ? `; replay a failed run with \`npm run chaos -- --seed ${summary.failedSeeds[0]} --runs 1\`` : '') + '.',
    '',
    `Write unavailability after a leader kill (kill → next acknowledged write), ${unavailability.count} kills:` +
      ` p50 ${formatMs(unavailability.p50)}, p99 ${formatMs(unavailability.p99)}, max ${formatMs(unavailability.max)}` +
      ` (target p99 ≤ ${unavailabilityP99MsMax} ms: ${summary.unavailabilityTargetMet ? 'met' : 'NOT met'})` +
      (unavailability.missing > 0 ? `; ${unavailability.missing} kill(s) never followed by an acknowledged write` : '') + '.',
    '',
    `Machine: ${JSON.stringify(machine())}.`,
    '',
  ];
  for (const result of results) {
    lines.push(`## Seed ${result.seed}: ${result.passed ? 'passed' : 'FAILED'} (${Math.round(result.durationMs / 1000)} s)`, '');
    if (result.verification !== undefined) {
      lines.push(`Counts: ${Object.entries(result.verification.counts).map(([name, value]) => `${name} ${value}`).join(', ')}; linearizability: ${result.verification.linearizability}.`, '');
    }
    if (Object.values(result.supervisedRestarts).some((count) => count > 0)) lines.push(`Restarted after exiting on their own: ${JSON.stringify(result.supervisedRestarts)}.`, '');
    lines.push('| at (ms) | fault | target | evidence | unavailability |', '|---|---|---|---|---|');
    for (const fault of result.faults) {
      lines.push(`| ${fault.injectedAtMs} | ${fault.kind} | ${fault.target} | ${fault.evidence} | ${fault.unavailabilityMs === undefined ? '' : formatMs(fault.unavailabilityMs)} |`);
    }
    lines.push('');
    if (result.violations.length > 0) {
      lines.push('Violations:', '', ...result.violations.map((violation) => `- ${violation.split('\n')[0]}`), '');
      if (result.dataDir !== undefined) lines.push(`Evidence (process logs, Kafka, Postgres): \`${result.dataDir}\``, '');
    }
  }
  return `${lines.join('\n')}\n`;
}

function formatMs(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${Math.round(value)} ms`;
}
