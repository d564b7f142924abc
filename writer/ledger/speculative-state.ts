import { accountWithCounters, type Account, type OwnedAccount } from './account.ts';
import { evolve } from './evolve.ts';
import { compareExpiry, ExpiryHeap, type ExpiryEntry } from './expiry-heap.ts';
import { indexExpiry, type LedgerState } from './ledger-state.ts';
import type { LedgerEvent } from './events.ts';
import type { Transfer } from './transfer.ts';

/**
 * Copy-on-write overlay over a parent state: reads fall through to the parent, writes stay here
 * (a parent's account record is copied before its first update here, never written).
 * Creating one costs three empty maps; discarding one is dropping the reference — the parent is
 * never written.
 *
 * The leader keeps one over the committed store: it decides each batch against it and evolves it
 * with the batch's events before they commit, so consecutive batches see each other (no double
 * spend across uncommitted batches). The apply loop meanwhile evolves the committed store with
 * the same events in the same order; values the overlay holds are then ahead of or equal to the
 * parent's, and keys it does not hold are only changed by events it has not seen — which cannot
 * happen while it is built as `createSpeculativeState` says. On loss of leadership, drop it; to
 * bound its size, rebuild it with `createSpeculativeState(committed, stillUncommittedEvents)`.
 */
export class SpeculativeLedgerState implements LedgerState {
  readonly #parent: LedgerState;
  readonly #accounts = new Map<string, Account>();
  readonly #transfers = new Map<string, Transfer>();
  /** Expiries of transfers whose record is in this overlay (the overlay's record decides). */
  readonly #expiries = new ExpiryHeap();
  #lastSeq: number;

  constructor(parent: LedgerState) {
    this.#parent = parent;
    this.#lastSeq = parent.lastSeq;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Records written in this overlay (a measure of its size). */
  get changedRecordCount(): number {
    return this.#accounts.size + this.#transfers.size;
  }

  account(id: string): Account | undefined {
    return this.#accounts.get(id) ?? this.#parent.account(id);
  }

  transfer(id: string): Transfer | undefined {
    return this.#transfers.get(id) ?? this.#parent.transfer(id);
  }

  *accounts(): Generator<Account, void, undefined> {
    yield* this.#accounts.values();
    for (const account of this.#parent.accounts()) {
      if (!this.#accounts.has(account.id)) yield account;
    }
  }

  *transfers(): Generator<Transfer, void, undefined> {
    yield* this.#transfers.values();
    for (const transfer of this.#parent.transfers()) {
      if (!this.#transfers.has(transfer.id)) yield transfer;
    }
  }

  /** Merge of this overlay's own expiries with the parent's for transfers it has not rewritten. */
  *pendingExpiriesInOrder(): Generator<ExpiryEntry, void, undefined> {
    const own = this.#expiries.inOrder();
    const inherited = this.#inheritedExpiries();
    let ownNext = own.next();
    let inheritedNext = inherited.next();
    while (!ownNext.done || !inheritedNext.done) {
      if (inheritedNext.done || (!ownNext.done && compareExpiry(ownNext.value, inheritedNext.value) < 0)) {
        yield ownNext.value as ExpiryEntry;
        ownNext = own.next();
      } else {
        yield inheritedNext.value;
        inheritedNext = inherited.next();
      }
    }
  }

  *#inheritedExpiries(): Generator<ExpiryEntry, void, undefined> {
    for (const entry of this.#parent.pendingExpiriesInOrder()) {
      if (!this.#transfers.has(entry.id)) yield entry;
    }
  }

  putAccount(account: Account): void {
    this.#accounts.set(account.id, account);
  }

  setAccountCounters(account: Account, debitsPending: bigint, debitsPosted: bigint, creditsPending: bigint, creditsPosted: bigint): Account {
    if (this.#accounts.get(account.id) === account) {
      const owned = account as OwnedAccount;
      owned.debitsPending = debitsPending;
      owned.debitsPosted = debitsPosted;
      owned.creditsPending = creditsPending;
      owned.creditsPosted = creditsPosted;
      return account;
    }
    const copy = accountWithCounters(account, debitsPending, debitsPosted, creditsPending, creditsPosted);
    this.#accounts.set(copy.id, copy);
    return copy;
  }

  putNewTransfer(transfer: Transfer): boolean {
    if (this.transfer(transfer.id) !== undefined) return false;
    this.putTransfer(transfer);
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
}

/** A copy-on-write overlay over `parent` (see SpeculativeLedgerState). */
export function fork(parent: LedgerState): SpeculativeLedgerState {
  return new SpeculativeLedgerState(parent);
}

/**
 * The leader's speculative state: the committed store plus the events appended to the log but
 * not yet applied to it, in log order. Call it on becoming leader (with every entry after the
 * applied index) and whenever the overlay should be rebased onto a newer committed store.
 */
export function createSpeculativeState(
  committed: LedgerState,
  uncommittedEvents: Iterable<LedgerEvent> = [],
): SpeculativeLedgerState {
  const speculative = fork(committed);
  for (const event of uncommittedEvents) evolve(speculative, event);
  return speculative;
}
