import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from './reconnect-backoff.ts';

const bounds = { delayMsMin: 50, delayMsMax: 2_000 };

describe('reconnectDelayMs', () => {
  it('doubles the ceiling per failure up to the maximum, half fixed and half jitter', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((failures) => reconnectDelayMs(bounds, failures, () => 0))).toEqual([50, 100, 200, 400, 800, 1_000, 1_000]);
    expect([0, 1, 2, 3, 4, 5, 6].map((failures) => reconnectDelayMs(bounds, failures, () => 0.999_999))).toEqual([100, 200, 400, 800, 1_600, 2_000, 2_000]);
  });

  it('always stays within [min, max], even after very many failures', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 100_000 }), fc.nat({ max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (delayMsMin, extra, failures, sample) => {
          const limits = { delayMsMin, delayMsMax: delayMsMin + extra };
          const delay = reconnectDelayMs(limits, failures, () => sample);
          expect(delay).toBeGreaterThanOrEqual(limits.delayMsMin);
          expect(delay).toBeLessThanOrEqual(limits.delayMsMax);
        }),
    );
  });
});
