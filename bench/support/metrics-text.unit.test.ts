import { describe, expect, it } from 'vitest';
import { bucketShares, metricDelta, sumByPrefix } from './metrics-text.ts';

const bucket = (bound: string) => `latency_bucket{le="${bound}",route="/x"}`;

describe('metrics text helpers', () => {
  it('gives the share of observations between two scrapes at or under each bound', () => {
    const before = new Map([[bucket('0.005'), 10], [bucket('0.01'), 10], [bucket('+Inf'), 10]]);
    const after = new Map([[bucket('0.005'), 60], [bucket('0.01'), 100], [bucket('+Inf'), 110]]);
    expect(bucketShares(before, after, bucket, ['0.005', '0.01'])).toBe('50.00% ≤ 5 ms, 90.00% ≤ 10 ms');
    expect(bucketShares(after, after, bucket, ['0.005'])).toBeUndefined();
  });

  it('sums a metric over its labels and differences samples, absent ones counting 0', () => {
    const values = new Map([['gc_count{kind="minor"}', 7], ['gc_count{kind="major"}', 2], ['gc_sum{kind="minor"}', 0.5]]);
    expect(sumByPrefix(values, 'gc_count')).toBe(9);
    expect(metricDelta(new Map(), values, 'gc_sum{kind="minor"}')).toBe(0.5);
    expect(metricDelta(values, new Map(), 'missing')).toBe(0);
  });
});
