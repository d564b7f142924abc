import { describe, expect, it } from 'vitest';
import { retryBackoffMs } from './retry-backoff.ts';

describe('retryBackoffMs', () => {
  it('doubles from the minimum and stops at the maximum', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((attempt) => retryBackoffMs(attempt, 100, 5_000))).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
    expect(retryBackoffMs(1_000_000, 100, 5_000)).toBe(5_000);
  });

  it('refuses a negative or fractional attempt', () => {
    expect(() => retryBackoffMs(-1, 100, 5_000)).toThrow(RangeError);
    expect(() => retryBackoffMs(1.5, 100, 5_000)).toThrow(RangeError);
  });
});
