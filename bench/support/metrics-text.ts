/** Reading a service's Prometheus /metrics text in the benchmarks. */
import { requestText } from './http-client.ts';
import { format } from './load.ts';

/** Every sample of `<baseUrl>/metrics`, keyed by its name with its labels exactly as printed (`name{a="x"}`). */
export async function scrapeMetrics(baseUrl: string): Promise<Map<string, number>> {
  const text = (await requestText('GET', `${baseUrl}/metrics`)).text;
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]));
  }
  return values;
}

/** How much a sample grew between two scrapes. */
export function metricDelta(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>, key: string): number {
  return (after.get(key) ?? 0) - (before.get(key) ?? 0);
}

/** The sum of the samples whose key starts with `prefix` (e.g. a metric over all values of a label). */
export function sumByPrefix(values: ReadonlyMap<string, number>, prefix: string): number {
  let sum = 0;
  for (const [key, value] of values) if (key.startsWith(prefix)) sum += value;
  return sum;
}

/**
 * "97.10% ≤ 10 ms, 99.20% ≤ 25 ms": the share of a histogram's observations between two scrapes that
 * fell at or under each bound (seconds, as in its `le` labels); `bucket(bound)` is that bucket's key,
 * and the `+Inf` bucket counts them all. Undefined when nothing was observed.
 */
export function bucketShares(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>, bucket: (bound: string) => string, bounds: readonly string[]): string | undefined {
  const total = metricDelta(before, after, bucket('+Inf'));
  if (total <= 0) return undefined;
  return bounds.map((bound) => `${format((metricDelta(before, after, bucket(bound)) / total) * 100, 2)}% ≤ ${Number(bound) * 1000} ms`).join(', ');
}
