/**
 * Test and bench support: a seeded, realistic ledger history as the writer would publish it —
 * random commands folded through the real ledger Decider (accounts, single-phase and two-phase
 * transfers, posts, voids, expiries, some rejected items), every accepted event wrapped in an
 * envelope with a dense seq. The final Decider state is returned so tests can compare the
 * projected rows with the source of truth.
 */
import assert from 'node:assert/strict';
import { encodeEnvelopeMessage, type EnvelopeInput, type EnvelopeMessage } from '../../common/events/envelope.ts';
import { decide, evolve, initialState, type CommittedLedgerState, type LedgerCommand, type TransferInput } from '../../writer/ledger/index.ts';

export interface HistoryOptions {
  readonly seed: number;
  readonly shard: number;
  readonly accounts: number;
  /** Transfer items to submit (some are rejected by the Decider, posts/voids count too). */
  readonly transfers: number;
  readonly transfersPerCommandMax?: number;
  /** Ledger time of the first command; default 2026-11-21T23:59:00Z so the history crosses midnight. */
  readonly startMs?: number;
  /** Ledger time between commands. */
  readonly commandIntervalMs?: number;
}

export interface LedgerHistory {
  readonly inputs: readonly EnvelopeInput[];
  readonly state: CommittedLedgerState;
}

/** Accounts per CreateAccounts command (the Decider takes at most batchItemsMax items). */
export const accountsPerCommandMax = 1_000;

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function generateHistory(options: HistoryOptions): LedgerHistory {
  const state = initialState();
  const inputs = [...historyInputs(options, state)];
  return { inputs, state };
}

/** The same history, one envelope at a time (for histories too large to hold), evolving `state`. */
export function* historyInputs(options: HistoryOptions, state: CommittedLedgerState = initialState()): Generator<EnvelopeInput> {
  const random = mulberry32(options.seed);
  const pick = (count: number) => Math.floor(random() * count);
  let inputs: EnvelopeInput[] = [];
  let now = options.startMs ?? Date.UTC(2026, 10, 21, 23, 59, 0);
  const interval = options.commandIntervalMs ?? 7;
  let commandNumber = 0;
  const run = (command: (metadata: { now: number; commandId: string }) => LedgerCommand) => {
    commandNumber += 1;
    now += interval;
    const metadata = { now, commandId: `s${options.shard}-c${commandNumber}` };
    const outcome = decide(command(metadata), state);
    if (outcome.type !== 'accepted') return;
    outcome.events.forEach((event, eventIndex) => {
      evolve(state, event);
      inputs.push({ shard: options.shard, seq: state.lastSeq, raftIndex: commandNumber, raftTerm: 1, commandId: metadata.commandId, eventIndex, occurredAtMs: now, event });
    });
  };
  const accountId = (index: number) => `s${options.shard}-acct-${index}`;
  const ledgerOf = (index: number) => (index % 5 === 4 ? 2 : 1);
  for (let first = 0; first < options.accounts; first += accountsPerCommandMax) {
    const count = Math.min(accountsPerCommandMax, options.accounts - first);
    run((metadata) => ({
      type: 'CreateAccounts', metadata,
      data: { accounts: Array.from({ length: count }, (_, offset) => first + offset).map((index) => ({ id: accountId(index), ledger: ledgerOf(index), code: 10 + (index % 3), ...(index === 0 ? { userData: 'operator' } : {}) })) },
    }));
  }
  assert.equal(state.lastSeq, options.accounts, 'every account was created');
  const pendingIds: string[] = [];
  let submitted = 0;
  let transferNumber = 0;
  const perCommandMax = options.transfersPerCommandMax ?? 50;
  while (submitted < options.transfers) {
    const count = Math.min(options.transfers - submitted, 1 + pick(perCommandMax));
    const items: TransferInput[] = [];
    for (let item = 0; item < count; item += 1) {
      transferNumber += 1;
      const id = `s${options.shard}-t${transferNumber}`;
      const roll = random();
      if (roll < 0.1 && pendingIds.length > 0) {
        const pendingId = pendingIds.splice(pick(pendingIds.length), 1)[0]!;
        items.push(random() < 0.6 ? { id, postPendingId: pendingId, ...(random() < 0.5 ? {} : { amount: 1n }) } : { id, voidPendingId: pendingId });
        continue;
      }
      let debit = pick(options.accounts);
      let credit = pick(options.accounts);
      if (debit === credit) credit = (credit + 5) % options.accounts;
      if (ledgerOf(debit) !== ledgerOf(credit)) debit = credit === 0 ? 5 : credit - 5 >= 0 ? credit - 5 : credit + 5;
      if (debit >= options.accounts || ledgerOf(debit) !== ledgerOf(credit) || debit === credit) continue;
      const amount = BigInt(1 + pick(100_000));
      const pending = roll < 0.3;
      items.push({ id, debitAccountId: accountId(debit), creditAccountId: accountId(credit), amount, ledger: ledgerOf(debit), code: 1 + pick(3), ...(pending ? { pending: true, timeoutSeconds: random() < 0.5 ? 0 : 1 } : {}) });
      if (pending) pendingIds.push(id);
    }
    submitted += count;
    if (items.length > 0) run((metadata) => ({ type: 'CreateTransfers', metadata, data: { transfers: items } }));
    if (random() < 0.05) {
      now += 1_000;
      run((metadata) => ({ type: 'ExpirePendingTransfers', metadata, data: { now: metadata.now } }));
    }
    yield* inputs;
    inputs = [];
  }
  yield* inputs;
}

export function historyMessages(history: LedgerHistory): EnvelopeMessage[] {
  return history.inputs.map(encodeEnvelopeMessage);
}
