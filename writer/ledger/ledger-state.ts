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

/**
 * The committed state as it was when the view began, readable while `evolve` goes on changing the
 * state (a snapshot encoded in slices between event-loop turns: see snapshot-encoder.ts). Records
 * come in insertion order, which is the same on every node that applied the same log.
 */
export interface SnapshotView {
  readonly lastSeq: number;
  readonly accountCount: number;
  readonly transferCount: number;
  /** The first `accountCount` accounts, each as it was when the view began. */
  accounts(): Iterator<Account>;
  /** The first `transferCount` transfers, each as it was when the view began. */
  transfers(): Iterator<Transfer>;
  /** Stops recording what changes (call when done or abandoned). */
  end(): void;
}

/** Records as they were before their first change since a view began (copy-on-write, lazily). */
interface PreImages {
  readonly accounts: Map<string, Account>;
  readonly transfers: Map<string, Transfer>;
}

/** The committed store: plain maps mutated in place by `evolve`. */
export class CommittedLedgerState implements LedgerState {
  readonly #accounts = new SegmentedMap<Account>();
  readonly #transfers = new SegmentedMap<Transfer>();
  readonly #expiries = new ExpiryHeap();
  #lastSeq = 0;
  #preImages: PreImages | undefined;

  /**
   * A view of the state as it is now that stays valid while the state changes: records are never
   * deleted and new ones are appended after the first `count`, so the view reads the first `count`
   * of each map and, for a record changed since, the copy taken just before its first change.
   * Costs nothing until a record changes; one view at a time.
   */
  beginSnapshotView(): SnapshotView {
    assert(this.#preImages === undefined, 'one snapshot view at a time');
    const preImages: PreImages = { accounts: new Map(), transfers: new Map() };
    this.#preImages = preImages;
    const accountCount = this.#accounts.size;
    const transferCount = this.#transfers.size;
    const accounts = this.#accounts;
    const transfers = this.#transfers;
    return {
      lastSeq: this.#lastSeq,
      accountCount,
      transferCount,
      accounts: () => firstAsBefore(accounts.values(), accountCount, preImages.accounts),
      transfers: () => firstAsBefore(transfers.values(), transferCount, preImages.transfers),
      end: () => {
        if (this.#preImages === preImages) this.#preImages = undefined;
      },
    };
  }

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
    const preImages = this.#preImages;
    if (preImages !== undefined && !preImages.accounts.has(account.id)) {
      const before = this.#accounts.get(account.id);
      if (before !== undefined) preImages.accounts.set(account.id, { ...before });
    }
    this.#accounts.set(account.id, account);
  }

  setAccountCounters(account: Account, debitsPending: bigint, debitsPosted: bigint, creditsPending: bigint, creditsPosted: bigint): Account {
    const preImages = this.#preImages;
    if (preImages !== undefined && !preImages.accounts.has(account.id)) preImages.accounts.set(account.id, { ...account });
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
    const preImages = this.#preImages;
    if (preImages !== undefined && !preImages.transfers.has(transfer.id)) {
      const before = this.#transfers.get(transfer.id);
      if (before !== undefined) preImages.transfers.set(transfer.id, before); // records are immutable: no copy
    }
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

function* firstAsBefore<V extends { readonly id: string }>(values: Iterator<V>, count: number, before: ReadonlyMap<string, V>): Generator<V, void, undefined> {
  for (let taken = 0; taken < count; taken += 1) {
    const next = values.next();
    assert(next.done !== true, `the state holds fewer than the ${count} records it held when the view began`);
    yield before.get(next.value.id) ?? next.value;
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
