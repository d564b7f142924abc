/** Bounded exponential backoff between recovery attempts (publisher, projector; pure: no clock, no jitter). */
export function retryBackoffMs(attempt: number, backoffMsMin: number, backoffMsMax: number): number {
  if (!Number.isSafeInteger(attempt) || attempt < 0) throw new RangeError(`attempt ${attempt} must be a non-negative integer`);
  // 2^31 already exceeds any sane maximum; capping the exponent keeps the arithmetic exact.
  const exponent = Math.min(attempt, 31);
  return Math.min(backoffMsMax, backoffMsMin * 2 ** exponent);
}
