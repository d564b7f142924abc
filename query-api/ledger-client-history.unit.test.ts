/**
 * The recorded-clients harness the strong-read e2e test uses can fail: histories recorded through
 * it against an in-memory ledger are linearizable when reads see every acknowledged write, and
 * illegal when reads are served from a snapshot that lags on purpose (an eventual read).
 */
import { describe, expect, it } from 'vitest';
import { checkLedgerHistory, runRecordedClients, type LedgerService, type TransferRequest } from './test/ledger-client-history.ts';

/** An in-memory ledger; reads see the state before the last `lag` transfers (0: every one). */
function inMemoryLedger(lag: number): LedgerService {
  const applied: TransferRequest[] = [];
  const ids = new Set<string>();
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  return {
    async transfer(request) {
      await tick();
      if (ids.has(request.id)) return 'exists';
      ids.add(request.id);
      applied.push(request);
      await tick();
      return 'created';
    },
    async read(accountId) {
      await tick();
      const visible = applied.slice(0, Math.max(0, applied.length - lag));
      let debitsPosted = 0n;
      let creditsPosted = 0n;
      for (const transfer of visible) {
        if (transfer.debitAccountId === accountId) debitsPosted += transfer.amount;
        if (transfer.creditAccountId === accountId) creditsPosted += transfer.amount;
      }
      await tick();
      return { debitsPosted, creditsPosted };
    },
  };
}

const run = (service: LedgerService, seed: number) => runRecordedClients({
  service, accounts: ['a', 'b', 'c'], writers: 2, readers: 3, durationMs: 5_000, operationsPerClientMax: 40, seed,
});

describe('recorded ledger client histories', () => {
  it('are linearizable when every read sees every acknowledged write', async () => {
    for (const seed of [1, 2, 3]) {
      const history = await run(inMemoryLedger(0), seed);
      expect(history.length).toBe(200);
      expect(checkLedgerHistory(history).outcome).toBe('ok');
    }
  });

  it('are illegal when reads come from a snapshot four writes behind (an eventual read made stale on purpose)', async () => {
    for (const seed of [1, 2, 3]) {
      const result = checkLedgerHistory(await run(inMemoryLedger(4), seed));
      expect(result.outcome).toBe('illegal');
      if (result.outcome === 'illegal') expect(result.explanation).toContain('rejected by the model');
    }
  });
});
