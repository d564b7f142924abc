import assert from 'node:assert/strict';
import type { Account, OwnedAccount } from './account.ts';
import { ExpiryHeap, type ExpiryEntry } from './expiry-heap.ts';
import { SegmentedMap } from './segmented-map.ts';
import type { Transfer } from './transfer.ts';
import { TransferTable } from './transfer-table.ts';

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
  /**
   * Encoded chunks of `transferChunkRecords` transfers, kept across snapshots of the same state:
   * a chunk holding no record changed since it was encoded is reused as it is (see
   * TransferChunkCache). Only pending transfers ever change, so most chunks are reused.
   */
  readonly transferChunks: TransferChunkCache;
  /** The first `accountCount` accounts, each as it was when the view began. */
  accounts(): Iterator<Account>;
  /**
   * Transfers at positions [from, from + count) of the first `transferCount` (default: from 0 to
   * the end), each as it was when the view began.
   */
  transfers(from?: number, count?: number): Iterator<Transfer>;
  /** Stops recording what changes (call when done or abandoned). */
  end(): void;
}

/** Transfers per chunk of a snapshot's transfer section (in insertion order), by default. */
export const transferChunkRecordsDefault = 16_384;

/**
 * The encoded bytes of whole chunks of transfers (positions [k·C, (k+1)·C) in insertion order),
 * each valid while its chunk's change count is what it was when the view that encoded it began.
 * The committed store counts a change against the chunk of the record it replaces (pending
 * transfers resolved or expired; nothing else ever changes), so a chunk is re-encoded only once a
 * record in it changed.
 */
export class TransferChunkCache {
  /** Transfers per chunk. */
  readonly chunkRecords: number;
  readonly #chunks = new Map<number, { readonly changes: number; readonly bytes: Uint8Array }>();
  /** Change counts per chunk as of the view's start. */
  readonly #changesAtStart: readonly number[];

  constructor(chunkRecords: number, previous: TransferChunkCache | undefined, changesAtStart: readonly number[]) {
    assert(previous === undefined || previous.chunkRecords === chunkRecords);
    this.chunkRecords = chunkRecords;
    if (previous !== undefined) for (const [chunk, entry] of previous.#chunks) this.#chunks.set(chunk, entry);
    this.#changesAtStart = changesAtStart;
  }

  /** The chunk's bytes if encoded from the same records as the view holds. */
  get(chunk: number): Uint8Array | undefined {
    const entry = this.#chunks.get(chunk);
    return entry !== undefined && entry.changes === (this.#changesAtStart[chunk] ?? 0) ? entry.bytes : undefined;
  }

  /** Keeps a whole chunk's bytes as encoded through this view. */
  set(chunk: number, bytes: Uint8Array): void {
    this.#chunks.set(chunk, { changes: this.#changesAtStart[chunk] ?? 0, bytes });
  }

  /** Replaces each kept chunk's bytes by the same bytes elsewhere (e.g. inside the snapshot they were copied into, so they are held once). */
  rebase(locate: (bytes: Uint8Array) => Uint8Array | undefined): void {
    for (const [chunk, entry] of this.#chunks) {
      const moved = locate(entry.bytes);
      if (moved !== undefined) this.#chunks.set(chunk, { changes: entry.changes, bytes: moved });
    }
  }
}

/** Records as they were before their first change since a view began (copy-on-write, lazily). */
interface PreImages {
  readonly accounts: Map<string, Account>;
  readonly transfers: Map<string, Transfer>;
}

/**
 * The committed store, mutated in place by `evolve`: accounts in a map of records, transfers in
 * columns (transfer-table.ts), one slot each in insertion order.
 */
export class CommittedLedgerState implements LedgerState {
  readonly #accounts = new SegmentedMap<Account>();
  readonly #transfers = new TransferTable();
  readonly #expiries = new ExpiryHeap();
  #lastSeq = 0;
  #preImages: PreImages | undefined;
  /** Changes counted per chunk of `transferChunkRecords` transfers (slot / transferChunkRecords). */
  readonly #chunkChanges: number[] = [];
  #transferChunks: TransferChunkCache | undefined;
  readonly #transferChunkRecords: number;

  /** `transferChunkRecords`: transfers per reusable chunk of a snapshot (small in tests). */
  constructor(options: { transferChunkRecords?: number } = {}) {
    this.#transferChunkRecords = options.transferChunkRecords ?? transferChunkRecordsDefault;
    assert(Number.isSafeInteger(this.#transferChunkRecords) && this.#transferChunkRecords > 0);
  }

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
    this.#transferChunks = new TransferChunkCache(this.#transferChunkRecords, this.#transferChunks, [...this.#chunkChanges]);
    return {
      lastSeq: this.#lastSeq,
      accountCount,
      transferCount,
      transferChunks: this.#transferChunks,
      accounts: () => firstAsBefore(accounts.values(), accountCount, preImages.accounts),
      transfers: (from = 0, count = transferCount - from) => {
        assert(from >= 0 && count >= 0 && from + count <= transferCount, `transfers ${from}..${from + count} of a view of ${transferCount}`);
        return asBefore(transfers.range(from, count), preImages.transfers);
      },
      end: () => {
        if (this.#preImages === preImages) this.#preImages = undefined;
      },
    };
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Transfers per reusable snapshot chunk. */
  get transferChunkRecords(): number {
    return this.#transferChunkRecords;
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
    return this.#transfers.range(0, this.#transfers.size);
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
    if (!this.#transfers.append(transfer)) return false;
    indexExpiry(this.#expiries, transfer);
    return true;
  }

  putTransfer(transfer: Transfer): void {
    // One index probe for a new id (append refuses a taken one); only a replacement looks up its slot.
    if (!this.#transfers.append(transfer)) {
      const slot = this.#transfers.slotOf(transfer.id) as number;
      const preImages = this.#preImages;
      if (preImages !== undefined && !preImages.transfers.has(transfer.id)) preImages.transfers.set(transfer.id, this.#transfers.at(slot));
      this.#transfers.replace(slot, transfer);
      this.#countChange(slot);
    }
    indexExpiry(this.#expiries, transfer);
  }

  /**
   * For snapshot decoding: `bytes` are the encoding of the whole chunk `chunk` as the state holds
   * it now (read from a snapshot), kept so the next snapshot need not encode it again.
   */
  seedTransferChunk(chunk: number, bytes: Uint8Array): void {
    assert(this.#preImages === undefined, 'no seeding while a snapshot view is open');
    assert((chunk + 1) * this.#transferChunkRecords <= this.#transfers.size, `chunk ${chunk} is not whole`);
    this.#transferChunks ??= new TransferChunkCache(this.#transferChunkRecords, undefined, [...this.#chunkChanges]);
    this.#transferChunks.set(chunk, bytes);
  }

  /** The record in `slot` was replaced: its chunk's cached bytes no longer hold it. */
  #countChange(slot: number): void {
    const chunk = Math.floor(slot / this.#transferChunkRecords);
    this.#chunkChanges[chunk] = (this.#chunkChanges[chunk] ?? 0) + 1;
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

/** Each value, or its pre-image if it changed since the view began (checked as it is reached: the state goes on changing). */
function* asBefore<V extends { readonly id: string }>(values: Iterable<V>, before: ReadonlyMap<string, V>): Generator<V, void, undefined> {
  for (const value of values) yield before.size === 0 ? value : (before.get(value.id) ?? value);
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
