import assert from 'node:assert/strict';
import type { Account, OwnedAccount } from './account.ts';
import { ExpiryHeap, type ExpiryEntry } from './expiry-heap.ts';
import { SegmentedMap } from './segmented-map.ts';
import type { Transfer } from './transfer.ts';

/**
 * The ledger's state, read by `decide` and written by `evolve`.
 *
 * Two implementations: the committed store (`initialState()`, mutable, owned by the apply loop)
 * and the copy-on-write overlay (`fork(parent)`, see speculative-state.ts) that the leader and
 * `decide` use for speculative work. Transfers are immutable values (a write replaces the
 * record); account counters are updated in place in the state that owns the record (saves an
 * allocation and a map write per account per event), and an overlay copies a parent's record
 * before its first write, so an overlay never changes what its parent holds.
 *
 * The write methods (`putAccount`, `setAccountCounters`, `putTransfer`, `putNewTransfer`,
 * `advanceSeq`) are for `evolve` only; everything else must go through it.
 */
export interface LedgerState {
  /** Seq of the last event applied (0 = none): events are numbered densely 1, 2, 3, … */
  readonly lastSeq: number;
  account(id: string): Account | undefined;
  transfer(id: string): Transfer | undefined;
  /** Every account, in no particular order. */
  accounts(): Iterable<Account>;
  /** Every transfer, in no particular order. */
  transfers(): Iterable<Transfer>;
  /** Pending transfers with a timeout, by (timeoutAt, id), lazily; state must not change meanwhile. */
  pendingExpiriesInOrder(): Iterable<ExpiryEntry>;
  /** Adds a new account record. */
  putAccount(account: Account): void;
  /**
   * Sets the counters of `account`, which must be the record this state returned for its id
   * just before; returns the record that now holds them (the same one, or an overlay's copy).
   */
  setAccountCounters(account: Account, debitsPending: bigint, debitsPosted: bigint, creditsPending: bigint, creditsPosted: bigint): Account;
  /** Writes a transfer record. Also keeps the expiry index (pending with a timeout). */
  putTransfer(transfer: Transfer): void;
  /** `putTransfer` for an id that must be new; returns false (and must crash) if it was not. */
  putNewTransfer(transfer: Transfer): boolean;
  /** Assigns the next seq and returns it. */
  advanceSeq(): number;
}

export function isAwaitingExpiry(transfer: Transfer): boolean {
  return transfer.pendingStatus === 'pending' && transfer.timeoutAt !== undefined;
}

/** The committed store: plain maps mutated in place by `evolve`. */
export class CommittedLedgerState implements LedgerState {
  readonly #accounts = new SegmentedMap<Account>();
  readonly #transfers = new SegmentedMap<Transfer>();
  readonly #expiries = new ExpiryHeap();
  #lastSeq = 0;

  get lastSeq(): number {
    return this.#lastSeq;
  }

  get accountCount(): number {
    return this.#accounts.size;
  }

  get transferCount(): number {
    return this.#transfers.size;
  }

  account(id: string): Account | undefined {
    return this.#accounts.get(id);
  }

  transfer(id: string): Transfer | undefined {
    return this.#transfers.get(id);
  }

  accounts(): Iterable<Account> {
    return this.#accounts.values();
  }

  transfers(): Iterable<Transfer> {
    return this.#transfers.values();
  }

  pendingExpiriesInOrder(): Iterable<ExpiryEntry> {
    return this.#expiries.inOrder();
  }

  putAccount(account: Account): void {
    this.#accounts.set(account.id, account);
  }

  setAccountCounters(account: Account, debitsPending: bigint, debitsPosted: bigint, creditsPending: bigint, creditsPosted: bigint): Account {
    const owned = account as OwnedAccount;
    owned.debitsPending = debitsPending;
    owned.debitsPosted = debitsPosted;
    owned.creditsPending = creditsPending;
    owned.creditsPosted = creditsPosted;
    return account;
  }

  putNewTransfer(transfer: Transfer): boolean {
    if (!this.#transfers.setNew(transfer.id, transfer)) return false;
    indexExpiry(this.#expiries, transfer);
    return true;
  }

  putTransfer(transfer: Transfer): void {
    this.#transfers.set(transfer.id, transfer);
    indexExpiry(this.#expiries, transfer);
  }

  advanceSeq(): number {
    this.#lastSeq += 1;
    return this.#lastSeq;
  }

  /** For snapshot decoding only: the seq a restored state continues from. */
  restoreLastSeq(lastSeq: number): void {
    assert(this.#lastSeq === 0 && Number.isSafeInteger(lastSeq) && lastSeq >= 0);
    this.#lastSeq = lastSeq;
  }
}

/** An empty committed store. `evolve` mutates it in place (see evolve.ts). */
export function initialState(): CommittedLedgerState {
  return new CommittedLedgerState();
}

/** Keeps `heap` in step with `transfer`: listed while it awaits expiry, removed once it does not. */
export function indexExpiry(heap: ExpiryHeap, transfer: Transfer): void {
  if (isAwaitingExpiry(transfer)) {
    if (!heap.has(transfer.id)) heap.add({ timeoutAt: transfer.timeoutAt as number, id: transfer.id });
  } else {
    heap.remove(transfer.id);
  }
}
