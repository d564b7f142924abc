/**
 * Benchmark of the durable Raft log: persist() of batches of 1,000 entries of 200 bytes, each
 * batch with its hard state and ONE fdatasync (group commit), as the shell does once per Ready.
 * Prints entries/s, MiB/s and the log fsync p50/p99, each the median of 3 runs.
 * Run: `npm run bench:log` (options: BENCH_LOG_DIR=<directory on the disk to measure>,
 * BENCH_LOG_BATCHES=<batches per run, default 200>).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Entry } from '../raft/entry.ts';
import { RaftStorage } from './raft-storage.ts';
import { machineFacts, writeBenchSummary } from '../../bench/report/bench-summary.ts';

const entriesPerBatch = 1_000;
const entryBytes = 200;
const runCount = 3;
const batchesPerRunMax = 100_000;
const batchesPerRun = Math.min(batchesPerRunMax, Number(process.env['BENCH_LOG_BATCHES'] ?? '200'));
const parentDirectory = process.env['BENCH_LOG_DIR'] ?? os.tmpdir();

interface RunResult {
  readonly entriesPerSecond: number;
  readonly mebibytesPerSecond: number;
  readonly fsyncMsP50: number;
  readonly fsyncMsP99: number;
  readonly logFsyncs: number;
  /** Entries/s counting only the time outside fsyncs: the cost of encoding and writing. */
  readonly entriesPerSecondWithoutFsync: number;
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function makeBatch(batch: number, payload: Uint8Array): Entry[] {
  const entries: Entry[] = new Array(entriesPerBatch);
  const first = batch * entriesPerBatch + 1;
  for (let offset = 0; offset < entriesPerBatch; offset++) {
    entries[offset] = { index: first + offset, term: 1, kind: 'normal', data: payload };
  }
  return entries;
}

function runOnce(run: number): RunResult {
  const directory = fs.mkdtempSync(path.join(parentDirectory, `log-bench-${run}-`));
  try {
    const fsyncMs: number[] = [];
    const opened = RaftStorage.open(directory, {
      identity: { clusterId: 'bench', nodeId: 'node-1' },
      onFsync: (durationMs, target) => {
        if (target === 'log') fsyncMs.push(durationMs);
      },
    });
    if (!opened.ok) throw new Error(opened.error.message);
    const storage = opened.storage;
    const payload = new Uint8Array(entryBytes).fill(run + 1);
    const batches = Array.from({ length: batchesPerRun }, (_, batch) => makeBatch(batch, payload));
    const start = performance.now();
    for (let batch = 0; batch < batchesPerRun; batch++) {
      const entries = batches[batch]!;
      storage.persist({
        snapshot: undefined,
        entries,
        hardState: { term: 1, votedFor: 'node-1', commit: batch * entriesPerBatch },
        compactedTo: undefined,
      });
    }
    const seconds = (performance.now() - start) / 1000;
    const logFsyncs = storage.stats.logFsyncCount;
    const bytes = storage.stats.logBytesWritten;
    storage.close();
    const fsyncSeconds = fsyncMs.reduce((sum, value) => sum + value, 0) / 1000;
    fsyncMs.sort((a, b) => a - b);
    return {
      entriesPerSecondWithoutFsync: (batchesPerRun * entriesPerBatch) / (seconds - fsyncSeconds),
      entriesPerSecond: (batchesPerRun * entriesPerBatch) / seconds,
      mebibytesPerSecond: bytes / (1024 * 1024) / seconds,
      fsyncMsP50: percentile(fsyncMs, 0.5),
      fsyncMsP99: percentile(fsyncMs, 0.99),
      logFsyncs,
    };
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

const loadAtStart = os.loadavg();
const results: RunResult[] = [];
for (let run = 0; run < runCount; run++) {
  const result = runOnce(run);
  results.push(result);
  console.log(
    `run ${run + 1}: ${Math.round(result.entriesPerSecond).toLocaleString('en-US')} entries/s, ` +
      `${result.mebibytesPerSecond.toFixed(1)} MiB/s, fsync p50 ${result.fsyncMsP50.toFixed(3)} ms, ` +
      `p99 ${result.fsyncMsP99.toFixed(3)} ms (${result.logFsyncs} log fsyncs; ` +
      `${Math.round(result.entriesPerSecondWithoutFsync).toLocaleString('en-US')} entries/s outside fsync)`,
  );
}
console.log(
  `log: batches of ${entriesPerBatch} entries x ${entryBytes} B, ${batchesPerRun} batches/run, median of ${runCount} runs in ${parentDirectory}: ` +
    `${Math.round(median(results.map((r) => r.entriesPerSecond))).toLocaleString('en-US')} entries/s, ` +
    `${median(results.map((r) => r.mebibytesPerSecond)).toFixed(1)} MiB/s, ` +
    `fsync p50 ${median(results.map((r) => r.fsyncMsP50)).toFixed(3)} ms, p99 ${median(results.map((r) => r.fsyncMsP99)).toFixed(3)} ms; ` +
    `${Math.round(median(results.map((r) => r.entriesPerSecondWithoutFsync))).toLocaleString('en-US')} entries/s outside fsync`,
);
writeBenchSummary({
  bench: 'log', measuredAt: new Date().toISOString(), machine: machineFacts(loadAtStart),
  settings: { entriesPerBatch, entryBytes, batchesPerRun, runs: runCount, directory: parentDirectory },
  figures: [
    { name: 'durable log append, one fdatasync per batch', value: median(results.map((r) => r.entriesPerSecond)), unit: 'entries/s', runs: results.map((r) => r.entriesPerSecond) },
    { name: 'log fsync p99', value: median(results.map((r) => r.fsyncMsP99)), unit: 'ms', runs: results.map((r) => r.fsyncMsP99) },
  ],
});
