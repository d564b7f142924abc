import { describe, expect, it } from 'vitest';
import { median, renderSummarySection, replaceSummarySection, summaryEndMarker, summaryStartMarker, targetMet, type BenchSummary } from './bench-summary.ts';

const summary: BenchSummary = {
  bench: 'writer', measuredAt: '2026-11-22T10:00:00.000Z',
  machine: { cores: 2, memoryGiB: 24, node: 'v24.21.0', loadAverageAtStart: [1.5, 1, 1] },
  settings: { nodes: 3 },
  figures: [
    { name: 'batched transfers', value: 43_284, unit: 'transfers/s', target: { kind: 'min', value: 100_000 } },
    { name: 'single transfer, concurrency 64', value: 2_400, unit: 'req/s', peer: { name: 'etcd puts', value: 1_000, unit: 'puts/s' }, ratio: 2.4, ratioTarget: { kind: 'min', value: 2 } },
    { name: 'p99 at half load', value: 12.5, unit: 'ms', target: { kind: 'max', value: 10 } },
  ],
};

describe('bench summary', () => {
  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  it('judges min and max targets', () => {
    expect(targetMet(5, { kind: 'min', value: 5 })).toBe(true);
    expect(targetMet(4, { kind: 'min', value: 5 })).toBe(false);
    expect(targetMet(11, { kind: 'max', value: 10 })).toBe(false);
  });

  it('renders one row per figure with the peer, the ratio and whether the target is met', () => {
    const section = renderSummarySection([summary], ['bench:query']);
    const rows = section.split('\n').filter((line) => line.startsWith('| writer'));
    expect(rows).toEqual([
      '| writer | batched transfers | 43,284 transfers/s | — | — | ≥ 100,000 transfers/s | **no** | 2026-11-22 10:00 | 1.5 |',
      '| writer | single transfer, concurrency 64 | 2,400 req/s | etcd puts: 1,000 puts/s | 2.40 | ratio ≥ 2 | yes | 2026-11-22 10:00 | 1.5 |',
      '| writer | p99 at half load | 12.5 ms | — | — | ≤ 10 ms | **no** | 2026-11-22 10:00 | 1.5 |',
    ]);
    expect(section).toContain('No figures from: bench:query');
  });

  it('replaces the generated section in place and leaves the hand-written text alone', () => {
    const document = '# Benchmarks\n\nIntro.\n\n## bench:raft\n\nProse.\n';
    const once = replaceSummarySection(document, renderSummarySection([summary], []));
    expect(once.indexOf(summaryStartMarker)).toBeLessThan(once.indexOf('## bench:raft'));
    expect(once).toContain('Intro.');
    expect(once).toContain('Prose.');
    const twice = replaceSummarySection(once, `${summaryStartMarker}\nnew\n${summaryEndMarker}`);
    expect(twice).toContain('\nnew\n');
    expect(twice).not.toContain('batched transfers');
    expect(twice.split(summaryStartMarker)).toHaveLength(2);
    expect(twice).toContain('Prose.');
  });
});
