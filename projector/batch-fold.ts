/**
 * Pure core of the projection: folds a batch of contiguous events over the current rows of the
 * accounts and transfers it touches (loaded by the shell in one query each) and returns the rows
 * to write — one set per table, so the shell writes each table with ONE statement:
 *
 *   accounts       final counters of every touched account (upsert);
 *   newTransfers   transfers created in this batch, in their final status (insert);
 *   statusChanges  pending transfers of earlier batches resolved or expired now (update);
 *   entries        one per account per event, with the balance after it (insert);
 *   dailyTotals    per (account, UTC day): posted debits/credits to add and the closing balance.
 *
 * An event the read model cannot apply (unknown account, resolving a transfer that is not
 * pending, an id created twice …) ends the fold: the events before it are kept, `stop` says why.
 * The writer's Decider never emits such events, so a stop here means a bug or a corrupt topic —
 * the partition must stop rather than guess.
 */
import type { EventEnvelope } from '../common/events/envelope.ts';
import type { LedgerEvent } from '../writer/ledger/events.ts';
import type { PositionedEnvelope } from './batch-selection.ts';
import { runAtOnce, type WorkSteps } from './work-slices.ts';

export type TransferKind = 'single_phase' | 'pending' | 'post_pending' | 'void_pending';
export type TransferStatus = 'posted' | 'pending' | 'voided' | 'expired';
export type EntryKind = TransferKind | 'expire_pending';
export type Direction = 'debit' | 'credit';

export interface AccountRow {
  readonly id: string;
  readonly shard: number;
  readonly ledger: number;
  readonly code: number;
  readonly debitsMustNotExceedCredits: boolean;
  readonly creditsMustNotExceedDebits: boolean;
  readonly userData: string | null;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
  readonly createdSeq: number;
  readonly createdAt: string;
  seq: number;
  updatedAt: string;
}

export interface TransferRow {
  readonly id: string;
  readonly shard: number;
  readonly kind: TransferKind;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: bigint;
  readonly ledger: number;
  readonly code: number;
  readonly userData: string | null;
  status: TransferStatus;
  readonly pendingId: string | null;
  readonly pendingAmount: bigint | null;
  readonly timeoutSeconds: number;
  readonly timeoutAt: string | null;
  resolvedBy: string | null;
  readonly seq: number;
  readonly occurredAt: string;
  statusSeq: number;
  statusChangedAt: string;
}

/** What the fold needs to know of a transfer created in an earlier batch. */
export interface ExistingTransfer {
  readonly id: string;
  readonly kind: TransferKind;
  readonly status: TransferStatus;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: bigint;
  readonly ledger: number;
}

export interface TransferStatusChange {
  readonly id: string;
  readonly status: TransferStatus;
  readonly resolvedBy: string | null;
  readonly statusSeq: number;
  readonly statusChangedAt: string;
}

export interface EntryRow {
  readonly accountId: string;
  readonly seq: number;
  readonly shard: number;
  readonly transferId: string;
  readonly kind: EntryKind;
  readonly direction: Direction;
  readonly amount: bigint;
  readonly pendingChange: bigint;
  readonly postedChange: bigint;
  readonly balanceAfter: bigint;
  readonly occurredAt: string;
}

export interface DailyTotalDelta {
  readonly accountId: string;
  /** UTC day, YYYY-MM-DD. */
  readonly day: string;
  readonly ledger: number;
  debits: bigint;
  credits: bigint;
  closingBalance: bigint;
  seq: number;
}

/** The stored rows a fold may look up (read from Postgres, or the partition cache's own maps). */
export interface LoadedRows {
  readonly accounts: Pick<ReadonlyMap<string, Readonly<AccountRow>>, 'get'>;
  readonly transfers: Pick<ReadonlyMap<string, ExistingTransfer>, 'get' | 'has'>;
}

export interface BatchFold {
  /** The events folded (a prefix of the input when `stop` is set). */
  readonly applied: readonly PositionedEnvelope[];
  readonly accounts: readonly AccountRow[];
  readonly newTransfers: readonly TransferRow[];
  readonly statusChanges: readonly TransferStatusChange[];
  readonly entries: readonly EntryRow[];
  readonly dailyTotals: readonly DailyTotalDelta[];
  readonly stop: { readonly envelope: PositionedEnvelope; readonly reason: string } | undefined;
}

/**
 * Ids the fold must find loaded: accounts and transfers named by the events. `resolvedTransferIds`
 * (pending transfers that a post, void or expiry names) is the part of `transferIds` whose rows the
 * fold reads; the rest are new ids it only checks for duplicates. Likewise `createdAccountIds` are
 * the accounts the batch creates and `createdTransferIds` the transfers it creates (a stored row is
 * only needed to find a duplicate).
 */
export function idsTouched(envelopes: readonly PositionedEnvelope[]): {
  accountIds: string[]; createdAccountIds: Set<string>; transferIds: string[]; createdTransferIds: Set<string>; resolvedTransferIds: string[];
} {
  const accountIds = new Set<string>();
  const createdAccountIds = new Set<string>();
  const createdTransferIds = new Set<string>();
  const transferIds = new Set<string>();
  const resolvedTransferIds = new Set<string>();
  for (const { envelope } of envelopes) {
    const event = envelope.event;
    switch (event.type) {
      case 'AccountCreated':
        accountIds.add(event.data.id);
        createdAccountIds.add(event.data.id);
        break;
      case 'TransferCreated':
        transferIds.add(event.data.id);
        createdTransferIds.add(event.data.id);
        accountIds.add(event.data.debitAccountId).add(event.data.creditAccountId);
        break;
      case 'PendingTransferPosted':
      case 'PendingTransferVoided':
        transferIds.add(event.data.id).add(event.data.pendingId);
        createdTransferIds.add(event.data.id);
        resolvedTransferIds.add(event.data.pendingId);
        accountIds.add(event.data.debitAccountId).add(event.data.creditAccountId);
        break;
      case 'PendingTransferExpired':
        transferIds.add(event.data.pendingId);
        resolvedTransferIds.add(event.data.pendingId);
        accountIds.add(event.data.debitAccountId).add(event.data.creditAccountId);
        break;
      default: {
        const _exhaustive: never = event;
        throw new Error(`unknown event ${JSON.stringify(_exhaustive)}`);
      }
    }
  }
  return { accountIds: [...accountIds], createdAccountIds, transferIds: [...transferIds], createdTransferIds, resolvedTransferIds: [...resolvedTransferIds] };
}

class InconsistentEvent extends Error {}

/** Folds `envelopes` (contiguous, in seq order) over `loaded`. Never mutates `loaded`. */
export function foldBatch(envelopes: readonly PositionedEnvelope[], loaded: LoadedRows): BatchFold {
  return runAtOnce(foldSteps(envelopes, loaded, Infinity));
}

/**
 * foldBatch as steps (work-slices.ts) that pause after every `sliceEvents` events. The fold looks
 * rows up in `loaded` as it goes: if `loaded` changes between pauses, the result mixes rows from
 * before and after the change and must not be used.
 */
export function* foldSteps(envelopes: readonly PositionedEnvelope[], loaded: LoadedRows, sliceEvents: number): WorkSteps<BatchFold> {
  const fold = new Fold(loaded);
  let appliedCount = 0;
  let stop: BatchFold['stop'];
  for (const positioned of envelopes) {
    try {
      fold.apply(positioned.envelope);
    } catch (error) {
      if (!(error instanceof InconsistentEvent)) throw error;
      stop = { envelope: positioned, reason: error.message };
      break;
    }
    appliedCount += 1;
    if (appliedCount % sliceEvents === 0) yield;
  }
  // A failed event may have been half-applied to the working copies: recompute from the prefix.
  const result = stop === undefined ? fold : new Fold(loaded).applyAll(envelopes.slice(0, appliedCount));
  return { applied: envelopes.slice(0, appliedCount), ...result.rows(), stop };
}

class Fold {
  readonly #loaded: LoadedRows;
  readonly #accounts = new Map<string, AccountRow>();
  readonly #newTransfers = new Map<string, TransferRow>();
  readonly #statusChanges = new Map<string, TransferStatusChange>();
  readonly #entries: EntryRow[] = [];
  /** Per UTC day, per account id (two levels: no key string is built per entry). */
  readonly #dailyTotals = new Map<string, Map<string, DailyTotalDelta>>();
  /** The day of the last timestamp seen: consecutive events mostly share it (one slice per timestamp, not per entry). */
  #dayOf = { occurredAt: '', day: '' };

  constructor(loaded: LoadedRows) {
    this.#loaded = loaded;
  }

  applyAll(envelopes: readonly PositionedEnvelope[]): this {
    for (const { envelope } of envelopes) this.apply(envelope);
    return this;
  }

  rows(): Omit<BatchFold, 'applied' | 'stop'> {
    return {
      accounts: [...this.#accounts.values()],
      newTransfers: [...this.#newTransfers.values()],
      statusChanges: [...this.#statusChanges.values()],
      entries: this.#entries,
      dailyTotals: [...this.#dailyTotals.values()].flatMap((byAccount) => [...byAccount.values()]),
    };
  }

  apply(envelope: EventEnvelope): void {
    const event: LedgerEvent = envelope.event;
    const { seq, shard, occurredAt } = envelope;
    switch (event.type) {
      case 'AccountCreated': {
        const data = event.data;
        if (this.#account(data.id) !== undefined) throw new InconsistentEvent(`account ${data.id} already exists`);
        this.#accounts.set(data.id, {
          id: data.id, shard, ledger: data.ledger, code: data.code,
          debitsMustNotExceedCredits: data.flags.debitsMustNotExceedCredits,
          creditsMustNotExceedDebits: data.flags.creditsMustNotExceedDebits,
          userData: data.userData ?? null,
          debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 0n,
          createdSeq: seq, createdAt: occurredAt, seq, updatedAt: occurredAt,
        });
        return;
      }
      case 'TransferCreated': {
        const data = event.data;
        this.#checkNewTransfer(data.id);
        const kind: TransferKind = data.pending ? 'pending' : 'single_phase';
        const { debit, credit } = this.#accountPair(data.debitAccountId, data.creditAccountId, data.ledger);
        this.#newTransfers.set(data.id, {
          id: data.id, shard, kind, debitAccountId: data.debitAccountId, creditAccountId: data.creditAccountId,
          amount: data.amount, ledger: data.ledger, code: data.code, userData: data.userData ?? null,
          status: data.pending ? 'pending' : 'posted', pendingId: null, pendingAmount: null,
          timeoutSeconds: data.timeoutSeconds, timeoutAt: data.timeoutAt === undefined ? null : new Date(data.timeoutAt).toISOString(),
          resolvedBy: null, seq, occurredAt, statusSeq: seq, statusChangedAt: occurredAt,
        });
        const pendingChange = data.pending ? data.amount : 0n;
        const postedChange = data.pending ? 0n : data.amount;
        this.#move(envelope, kind, data.id, debit, credit, data.amount, pendingChange, postedChange);
        return;
      }
      case 'PendingTransferPosted':
      case 'PendingTransferVoided': {
        const data = event.data;
        const posted = event.type === 'PendingTransferPosted';
        this.#checkNewTransfer(data.id);
        this.#resolvePending(data.pendingId, data.debitAccountId, data.creditAccountId, data.pendingAmount, data.ledger, posted ? 'posted' : 'voided', data.id, envelope);
        const { debit, credit } = this.#accountPair(data.debitAccountId, data.creditAccountId, data.ledger);
        const kind: TransferKind = posted ? 'post_pending' : 'void_pending';
        this.#newTransfers.set(data.id, {
          id: data.id, shard, kind, debitAccountId: data.debitAccountId, creditAccountId: data.creditAccountId,
          amount: data.amount, ledger: data.ledger, code: data.code, userData: data.userData ?? null,
          status: posted ? 'posted' : 'voided', pendingId: data.pendingId, pendingAmount: data.pendingAmount,
          timeoutSeconds: 0, timeoutAt: null, resolvedBy: null, seq, occurredAt, statusSeq: seq, statusChangedAt: occurredAt,
        });
        this.#move(envelope, kind, data.id, debit, credit, data.amount, -data.pendingAmount, posted ? data.amount : 0n);
        return;
      }
      case 'PendingTransferExpired': {
        const data = event.data;
        this.#resolvePending(data.pendingId, data.debitAccountId, data.creditAccountId, data.amount, data.ledger, 'expired', null, envelope);
        const { debit, credit } = this.#accountPair(data.debitAccountId, data.creditAccountId, data.ledger);
        this.#move(envelope, 'expire_pending', data.pendingId, debit, credit, data.amount, -data.amount, 0n);
        return;
      }
      default: {
        const _exhaustive: never = event;
        throw new Error(`unknown event ${JSON.stringify(_exhaustive)}`);
      }
    }
  }

  #account(id: string): AccountRow | undefined {
    const working = this.#accounts.get(id);
    if (working !== undefined) return working;
    const stored = this.#loaded.accounts.get(id);
    if (stored === undefined) return undefined;
    const copy = { ...stored };
    this.#accounts.set(id, copy);
    return copy;
  }

  #accountPair(debitId: string, creditId: string, ledger: number): { debit: AccountRow; credit: AccountRow } {
    if (debitId === creditId) throw new InconsistentEvent(`debit and credit account are both ${debitId}`);
    const debit = this.#account(debitId);
    const credit = this.#account(creditId);
    if (debit === undefined) throw new InconsistentEvent(`debit account ${debitId} does not exist`);
    if (credit === undefined) throw new InconsistentEvent(`credit account ${creditId} does not exist`);
    if (debit.ledger !== ledger || credit.ledger !== ledger) throw new InconsistentEvent(`accounts ${debitId}/${creditId} are not on ledger ${ledger}`);
    return { debit, credit };
  }

  #checkNewTransfer(id: string): void {
    if (this.#newTransfers.has(id) || this.#loaded.transfers.has(id)) throw new InconsistentEvent(`transfer ${id} already exists`);
  }

  #resolvePending(pendingId: string, debitId: string, creditId: string, pendingAmount: bigint, ledger: number, status: TransferStatus, resolvedBy: string | null, envelope: EventEnvelope): void {
    const working = this.#newTransfers.get(pendingId);
    const pending = working ?? this.#loaded.transfers.get(pendingId);
    if (pending === undefined) throw new InconsistentEvent(`pending transfer ${pendingId} does not exist`);
    const currentStatus = working?.status ?? this.#statusChanges.get(pendingId)?.status ?? pending.status;
    if (pending.kind !== 'pending' || currentStatus !== 'pending') throw new InconsistentEvent(`transfer ${pendingId} is not pending (kind ${pending.kind}, status ${currentStatus})`);
    if (pending.debitAccountId !== debitId || pending.creditAccountId !== creditId || pending.amount !== pendingAmount || pending.ledger !== ledger) {
      throw new InconsistentEvent(`resolution of ${pendingId} does not match the pending transfer's accounts, amount or ledger`);
    }
    if (working !== undefined) {
      working.status = status;
      working.resolvedBy = resolvedBy;
      working.statusSeq = envelope.seq;
      working.statusChangedAt = envelope.occurredAt;
    } else {
      this.#statusChanges.set(pendingId, { id: pendingId, status, resolvedBy, statusSeq: envelope.seq, statusChangedAt: envelope.occurredAt });
    }
  }

  /** Applies pending/posted changes to both sides and records their entries and daily totals. */
  #move(envelope: EventEnvelope, kind: EntryKind, transferId: string, debit: AccountRow, credit: AccountRow, amount: bigint, pendingChange: bigint, postedChange: bigint): void {
    debit.debitsPending += pendingChange;
    debit.debitsPosted += postedChange;
    credit.creditsPending += pendingChange;
    credit.creditsPosted += postedChange;
    if (debit.debitsPending < 0n || credit.creditsPending < 0n) throw new InconsistentEvent(`pending counters of ${debit.id}/${credit.id} would go negative`);
    if (this.#dayOf.occurredAt !== envelope.occurredAt) this.#dayOf = { occurredAt: envelope.occurredAt, day: envelope.occurredAt.slice(0, 10) };
    let byAccount = this.#dailyTotals.get(this.#dayOf.day);
    if (byAccount === undefined) {
      byAccount = new Map();
      this.#dailyTotals.set(this.#dayOf.day, byAccount);
    }
    this.#entry(envelope, kind, transferId, debit, 'debit', amount, pendingChange, postedChange, byAccount);
    this.#entry(envelope, kind, transferId, credit, 'credit', amount, pendingChange, postedChange, byAccount);
  }

  #entry(
    envelope: EventEnvelope, kind: EntryKind, transferId: string, account: AccountRow, direction: 'debit' | 'credit', amount: bigint, pendingChange: bigint, postedChange: bigint,
    byAccount: Map<string, DailyTotalDelta>,
  ): void {
    account.seq = envelope.seq;
    account.updatedAt = envelope.occurredAt;
    const balanceAfter = account.creditsPosted - account.debitsPosted;
    this.#entries.push({
      accountId: account.id, seq: envelope.seq, shard: envelope.shard, transferId, kind, direction, amount,
      pendingChange, postedChange, balanceAfter, occurredAt: envelope.occurredAt,
    });
    let total = byAccount.get(account.id);
    if (total === undefined) {
      total = { accountId: account.id, day: this.#dayOf.day, ledger: account.ledger, debits: 0n, credits: 0n, closingBalance: balanceAfter, seq: envelope.seq };
      byAccount.set(account.id, total);
    }
    if (postedChange !== 0n) {
      if (direction === 'debit') total.debits += postedChange;
      else total.credits += postedChange;
    }
    total.closingBalance = balanceAfter;
    total.seq = envelope.seq;
  }
}
