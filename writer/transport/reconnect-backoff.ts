// Reconnect delays: exponential from `delayMsMin` to `delayMsMax`, with "equal jitter" (half the
// step fixed, half random) so peers that lost each other at the same moment do not redial in
// lockstep. Pure: the random source is passed in.

import assert from 'node:assert/strict';

export interface BackoffBounds {
  readonly delayMsMin: number;
  readonly delayMsMax: number;
}

/** Doubling stops here; 2^30 × any sane minimum is already past any sane maximum. */
const doublingsMax = 30;

/**
 * The delay before attempt `failures + 1`, after `failures` consecutive failed attempts
 * (0 → between the minimum and twice it). Never below the minimum nor above the maximum. `random()` returns a number in [0, 1).
 */
export function reconnectDelayMs(bounds: BackoffBounds, failures: number, random: () => number): number {
  assert.ok(Number.isSafeInteger(failures) && failures >= 0, 'failures must be a non-negative integer');
  assert.ok(bounds.delayMsMin > 0 && bounds.delayMsMin <= bounds.delayMsMax, 'backoff bounds must be ordered and positive');
  const ceiling = Math.min(bounds.delayMsMax, bounds.delayMsMin * 2 ** Math.min(failures + 1, doublingsMax));
  const sample = random();
  assert.ok(sample >= 0 && sample < 1, 'random() must return a number in [0, 1)');
  const delay = Math.round(ceiling / 2 + (sample * ceiling) / 2);
  return Math.max(bounds.delayMsMin, delay);
}
