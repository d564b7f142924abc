/**
 * Which seq the log had reached at a given Raft index: (index, lastSeq after applying it) pairs.
 * - a barrier committed at index I answers the seq of the last event at or before I even when
 *   later entries were applied in the same Ready (`seqAt`);
 * - the publisher's event source finds the entry holding a seq (`locate`), and compaction finds the
 *   last entry whose events are all published (`lastIndexAtOrBelow`).
 *
 * Pairs are dropped from the front once there are more than `2 × seqIndexEntriesMax`, but never
 * those at or above `keepFrom` (the compaction floor: every entry the log still holds must stay
 * locatable, however long Kafka is away — the Raft log holds them too, so the bound is the log's).
 */
import assert from 'node:assert/strict';

export const seqIndexEntriesMax = 65_536;

export interface SeqLocation {
  /** The Raft index of the entry holding the seq. */
  readonly index: number;
  /** lastSeq before that entry (its first event has seq `seqBefore + 1`). */
  readonly seqBefore: number;
}

export class SeqIndex {
  #indexes: number[] = [];
  #seqs: number[] = [];
  #keepFrom = 0;

  record(index: number, lastSeq: number): void {
    const lastIndex = this.#indexes.at(-1);
    if (!(lastIndex === undefined || index > lastIndex)) assert.fail(`seq index must grow: ${index} after ${lastIndex}`);
    assert(lastSeq >= (this.#seqs.at(-1) ?? 0), 'seq never goes backwards');
    this.#indexes.push(index);
    this.#seqs.push(lastSeq);
    if (this.#indexes.length > seqIndexEntriesMax * 2) this.#trim();
  }

  reset(index: number, lastSeq: number): void {
    this.#indexes = [index];
    this.#seqs = [lastSeq];
  }

  /** Pairs at or above `index` are kept whatever their number (the compaction floor moved). */
  keepFrom(index: number): void {
    this.#keepFrom = index;
    if (this.#indexes.length > seqIndexEntriesMax * 2) this.#trim();
  }

  get size(): number {
    return this.#indexes.length;
  }

  /** lastSeq after applying the greatest recorded index ≤ `index`; `fallback` if none is known. */
  seqAt(index: number, fallback: number): number {
    const found = this.#lastPositionAtOrBelow(index);
    return found < 0 ? fallback : (this.#seqs[found] as number);
  }

  /**
   * The entry holding event `seq`: the first recorded index whose lastSeq reaches it, with the
   * lastSeq before it. Undefined when the entry is not recorded (compacted away, or not applied).
   */
  locate(seq: number): SeqLocation | undefined {
    let low = 0;
    let high = this.#seqs.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if ((this.#seqs[middle] as number) >= seq) {
        found = middle;
        high = middle - 1;
      } else {
        low = middle + 1;
      }
    }
    // The pair before it says where the entry starts; without one the entry's start is unknown.
    if (found <= 0) return undefined;
    const seqBefore = this.#seqs[found - 1] as number;
    assert(seqBefore < seq, `seq index: ${seqBefore} before index ${this.#indexes[found]} must be below ${seq}`);
    return { index: this.#indexes[found] as number, seqBefore };
  }

  /** The greatest recorded index whose lastSeq ≤ `seq` (all of its events are at or below it); undefined if none. */
  lastIndexAtOrBelow(seq: number): number | undefined {
    let low = 0;
    let high = this.#seqs.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if ((this.#seqs[middle] as number) <= seq) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found < 0 ? undefined : (this.#indexes[found] as number);
  }

  #lastPositionAtOrBelow(index: number): number {
    let low = 0;
    let high = this.#indexes.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if ((this.#indexes[middle] as number) <= index) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  #trim(): void {
    // Keep the pair at the floor itself too: it says where the first kept entry starts.
    const floorPosition = Math.max(0, this.#lastPositionAtOrBelow(this.#keepFrom));
    const drop = Math.min(this.#indexes.length - seqIndexEntriesMax, floorPosition);
    if (drop <= 0) return;
    this.#indexes = this.#indexes.slice(drop);
    this.#seqs = this.#seqs.slice(drop);
  }
}
