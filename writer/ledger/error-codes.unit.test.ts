import { describe, expect, it } from 'vitest';
import { commandRejectionCodes } from './command-rejection.ts';
import { isLedgerErrorCode, ledgerErrorCodes } from './error-codes.ts';
import { violationCodes } from './invariants.ts';

describe('error codes', () => {
  it('are unique snake_case strings', () => {
    for (const codes of [ledgerErrorCodes, commandRejectionCodes, violationCodes]) {
      expect(new Set(codes).size).toBe(codes.length);
      for (const code of codes) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    }
  });

  it('never collide with the success statuses', () => {
    expect(isLedgerErrorCode('created')).toBe(false);
    expect(isLedgerErrorCode('exists')).toBe(false);
    expect(isLedgerErrorCode('insufficient_funds')).toBe(true);
  });
});
