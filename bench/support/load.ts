/** Small load-generation helpers shared by the benchmarks: closed-loop workers, latency stats. */

export interface LoadResult {
  readonly operations: number;
  readonly items: number;
  readonly errors: number;
  /** Failures by their message's first 80 characters (e.g. a 503 body), to tell elections from overload. */
  readonly errorKinds: Readonly<Record<string, number>>;
  readonly seconds: number;
  readonly latenciesMs: number[];
}

/**
 * Runs `concurrency` workers calling `operation` back to back for `durationMs` (closed loop), or,
 * with `ratePerSecond`, starts operations on a fixed schedule (open loop, bounded in-flight).
 * `operation` returns how many items it carried (e.g. transfers in a batch) or throws.
 */
export async function runLoad(options: {
  concurrency: number;
  durationMs: number;
  ratePerSecond?: number;
  operation: (worker: number, sequence: number) => Promise<number>;
}): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let operations = 0;
  let items = 0;
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  let sequence = 0;
  const started = performance.now();
  const deadline = started + options.durationMs;
  const interval = options.ratePerSecond ? 1000 / options.ratePerSecond : 0;
  let nextStart = started;
  await Promise.all(Array.from({ length: options.concurrency }, async (_, worker) => {
    while (performance.now() < deadline) {
      if (interval > 0) {
        const wait = nextStart - performance.now();
        nextStart += interval;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (performance.now() >= deadline) break;
      }
      const begin = performance.now();
      try {
        // Await first, then add: `items += await …` would read `items` before the await and lose
        // the other workers' increments.
        const carried = await options.operation(worker, sequence++);
        items += carried;
        operations += 1;
        latenciesMs.push(performance.now() - begin);
      } catch (error) {
        errors += 1;
        const kind = (error instanceof Error ? error.message : String(error)).slice(0, 80);
        errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
      }
    }
  }));
  return { operations, items, errors, errorKinds, seconds: (performance.now() - started) / 1000, latenciesMs };
}

export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

export function format(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
