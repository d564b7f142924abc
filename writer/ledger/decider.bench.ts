/**
 * Micro-benchmark: decide + evolve of batches of 8,000 transfers over 10,000 accounts.
 * Run: `node writer/ledger/decider.bench.ts` (Node 24; `npx node …` where the system Node is older).
 * The machine is shared, so it prints both wall-clock and CPU-time rates (CPU time includes the
 * garbage collector's helper threads, so it understates a quiet core). Transfers/s for the committed path (decide on the store, evolve the store) and the
 * leader's speculative path (decideAndEvolve on its overlay, then apply the events to the store).
 */
import assert from 'node:assert/strict';
import type { AccountInput } from './account.ts';
import { decide, decideAndEvolve } from './decide.ts';
import { evolve } from './evolve.ts';
import { initialState, type LedgerState } from './ledger-state.ts';
import { createSpeculativeState } from './speculative-state.ts';
import type { TransferInput } from './transfer.ts';

const accountCount = 10_000;
const transfersPerBatch = 8_000;
const batchCount = 50;
const warmupBatchCount = 10;

function setup(): LedgerState {
  const state = initialState();
  for (let start = 0; start < accountCount; start += transfersPerBatch) {
    const accounts: AccountInput[] = [];
    for (let index = start; index < Math.min(accountCount, start + transfersPerBatch); index += 1) {
      accounts.push({ id: `account-${index}`, ledger: 1, code: 1 });
    }
    const outcome = decide({ type: 'CreateAccounts', data: { accounts }, metadata: { now: 0, commandId: `accounts-${start}` } }, state);
    assert(outcome.type === 'accepted');
    for (const event of outcome.events) evolve(state, event);
  }
  return state;
}

/** Deterministic pseudo-random account pairs (xorshift32), no Math.random. */
function makeBatch(batch: number, seedStart: number): TransferInput[] {
  let seed = seedStart;
  const next = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % accountCount;
  };
  const transfers: TransferInput[] = [];
  for (let index = 0; index < transfersPerBatch; index += 1) {
    const debit = next();
    let credit = next();
    if (credit === debit) credit = (credit + 1) % accountCount;
    transfers.push({ id: `t-${batch}-${index}`, debitAccountId: `account-${debit}`, creditAccountId: `account-${credit}`, amount: 100n, ledger: 1, code: 1 });
  }
  return transfers;
}

function run(label: string, speculative: boolean): void {
  const state = setup();
  const batches = Array.from({ length: warmupBatchCount + batchCount }, (_, batch) => makeBatch(batch, 0x9e3779b9 ^ (batch + 1)));
  let measuredMs = 0;
  let measuredCpuMs = 0;
  for (let batch = 0; batch < batches.length; batch += 1) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const command = { type: 'CreateTransfers' as const, data: { transfers: batches[batch] as TransferInput[] }, metadata: { now: batch, commandId: `c-${batch}` } };
    if (speculative) {
      const overlay = createSpeculativeState(state);
      const outcome = decideAndEvolve(command, overlay);
      assert(outcome.type === 'accepted' && outcome.events.length === transfersPerBatch);
      for (const event of outcome.events) evolve(state, event);
    } else {
      const outcome = decide(command, state);
      assert(outcome.type === 'accepted' && outcome.events.length === transfersPerBatch);
      for (const event of outcome.events) evolve(state, event);
    }
    if (batch >= warmupBatchCount) {
      measuredMs += performance.now() - started;
      const cpu = process.cpuUsage(cpuStarted);
      measuredCpuMs += (cpu.user + cpu.system) / 1000;
    }
  }
  const transfers = batchCount * transfersPerBatch;
  const perSecond = (ms: number): string => Math.round(transfers / (ms / 1000)).toLocaleString('en-US');
  console.log(
    `${label}: ${transfers} transfers, wall ${measuredMs.toFixed(0)} ms = ${perSecond(measuredMs)} transfers/s; ` +
      `CPU ${measuredCpuMs.toFixed(0)} ms = ${perSecond(measuredCpuMs)} transfers/s per core`,
  );
}

run('decide + evolve (committed store)', false);
run('decideAndEvolve on overlay + evolve store (leader path)', true);
