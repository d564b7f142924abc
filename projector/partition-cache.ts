/**
 * What one projector process remembers about one partition between its own batches, so a batch
 * does not have to read back from Postgres the rows the previous batch just wrote:
 *
 *   accounts          the rows of recently touched accounts, as committed;
 *   pendingTransfers  transfers still pending (what a later post, void or expiry needs to check).
 *
 * The cache is only trusted while Postgres is where this process left it: it is keyed by
 * (version schema, checkpoint seq) of the last batch this process wrote, and a batch that
 * finds its locked checkpoint anywhere else (another process applied batches after a rebalance,
 * a rebuild switched versions, a fresh start) clears it first. Any failure clears it too. Every
 * entry is a row as of that checkpoint, so a cache hit is as good as a read under the lock; a miss
 * is read from Postgres. Transfers that are NOT pending are not remembered, so the cache cannot
 * say that a new transfer id is unused: the insert's primary key does (batch-apply.ts redoes such
 * a batch without the cache, which stops the partition with the precise reason).
 *
 * Both maps are bounded (least recently touched entries go first).
 */
import type { AccountRow, BatchFold, ExistingTransfer, LoadedRows } from './batch-fold.ts';

export const cachedAccountsMax = 200_000;
export const cachedPendingTransfersMax = 200_000;

export class PartitionCache {
  readonly #accountsMax: number;
  readonly #pendingTransfersMax: number;
  readonly #accounts = new Map<string, Readonly<AccountRow>>();
  readonly #pendingTransfers = new Map<string, ExistingTransfer>();
  #versionSchema: string | undefined;
  #seq: number | undefined;

  constructor(limits: { accountsMax?: number; pendingTransfersMax?: number } = {}) {
    this.#accountsMax = limits.accountsMax ?? cachedAccountsMax;
    this.#pendingTransfersMax = limits.pendingTransfersMax ?? cachedPendingTransfersMax;
  }

  /** True when the cache reflects exactly this checkpoint of this version (as this process committed it). */
  isAt(versionSchema: string, seq: number): boolean {
    return this.#versionSchema === versionSchema && this.#seq === seq;
  }

  /** Forget everything (checkpoint mismatch, rebalance, failure). */
  clear(): void {
    this.#accounts.clear();
    this.#pendingTransfers.clear();
    this.#versionSchema = undefined;
    this.#seq = undefined;
  }

  /**
   * Starts a batch at the checkpoint just locked: clears the cache unless it is at exactly that
   * checkpoint.
   */
  beginAt(versionSchema: string, seq: number): void {
    if (!this.isAt(versionSchema, seq)) this.clear();
    this.#versionSchema = versionSchema;
    this.#seq = seq;
  }

  /** Where the cache is (the checkpoint its rows reflect), if anywhere. */
  position(): { versionSchema: string; seq: number } | undefined {
    return this.#versionSchema === undefined || this.#seq === undefined ? undefined : { versionSchema: this.#versionSchema, seq: this.#seq };
  }

  account(id: string): Readonly<AccountRow> | undefined {
    return this.#accounts.get(id);
  }

  pendingTransfer(id: string): ExistingTransfer | undefined {
    return this.#pendingTransfers.get(id);
  }

  /**
   * The cache as rows a fold looks up (batch-fold.ts): the live maps, not a copy — they change
   * when the cache advances or is cleared, and a fold made across such a change is not used
   * (batch-apply.ts checks the checkpoint it was made at).
   */
  rows(): LoadedRows {
    return { accounts: this.#accounts, transfers: this.#pendingTransfers };
  }

  get size(): { accounts: number; pendingTransfers: number } {
    return { accounts: this.#accounts.size, pendingTransfers: this.#pendingTransfers.size };
  }

  /**
   * A batch folded from `seqBefore` to `seqAfter`: remember the rows it writes and move to its
   * checkpoint. Called before its transaction commits; that is safe because the next batch trusts
   * the cache only if the checkpoint it locks is `seqAfter` — i.e. this batch did commit — and
   * every failure clears the cache. Pending transfers the batch read from Postgres were all
   * resolved by it (a batch that stops is never remembered), so they need no entry.
   */
  advance(versionSchema: string, seqBefore: number, seqAfter: number, fold: BatchFold | undefined): void {
    if (!this.isAt(versionSchema, seqBefore)) {
      this.clear();
      return;
    }
    if (fold !== undefined) {
      for (const account of fold.accounts) {
        this.#accounts.delete(account.id);
        this.#accounts.set(account.id, account);
      }
      for (const change of fold.statusChanges) this.#pendingTransfers.delete(change.id);
      for (const transfer of fold.newTransfers) {
        if (transfer.status !== 'pending') continue;
        this.#pendingTransfers.set(transfer.id, {
          id: transfer.id, kind: transfer.kind, status: transfer.status, debitAccountId: transfer.debitAccountId,
          creditAccountId: transfer.creditAccountId, amount: transfer.amount, ledger: transfer.ledger,
        });
      }
      trim(this.#accounts, this.#accountsMax);
      trim(this.#pendingTransfers, this.#pendingTransfersMax);
    }
    this.#seq = seqAfter;
  }
}

function trim(map: Map<string, unknown>, max: number): void {
  if (map.size <= max) return;
  for (const key of map.keys()) {
    map.delete(key);
    if (map.size <= max) return;
  }
}
