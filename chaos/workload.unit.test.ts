import { describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import { Workload, workloadSettingsDefault } from './workload.ts';

describe('workload unavailability measure', () => {
  const workload = () => new Workload(workloadSettingsDefault, { writerUrls: () => [], queryUrl: () => '' }, createLogger('test', 'silent'));

  it('counts only writes sent at or after the fault, not answers relayed later for earlier requests', () => {
    const measured = workload();
    measured.acknowledgements.push(
      { sentAtMs: 900, answeredAtMs: 1_010 }, // sent before the kill at 1,000: the old leader's answer, relayed late
      { sentAtMs: 1_200, answeredAtMs: 1_700 },
      { sentAtMs: 1_100, answeredAtMs: 1_650 },
    );
    expect(measured.firstAcknowledgementAfter(1_000)).toBe(650);
  });

  it('says undefined when no write sent after the fault was acknowledged', () => {
    const measured = workload();
    measured.acknowledgements.push({ sentAtMs: 900, answeredAtMs: 5_000 });
    expect(measured.firstAcknowledgementAfter(1_000)).toBeUndefined();
  });
});
