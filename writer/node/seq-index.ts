/**
 * Which seq the log had reached at a given Raft index: a bounded window of (index, lastSeq after
 * applying it) pairs, so a barrier committed at index I answers the seq of the last event at or
 * before I even when later entries were applied in the same Ready.
 */
import assert from 'node:assert/strict';

export const seqIndexEntriesMax = 65_536;

export class SeqIndex {
  #indexes: number[] = [];
  #seqs: number[] = [];

  record(index: number, lastSeq: number): void {
    const lastIndex = this.#indexes.at(-1);
    assert(lastIndex === undefined || index > lastIndex, `seq index must grow: ${index} after ${lastIndex}`);
    assert(lastSeq >= (this.#seqs.at(-1) ?? 0), 'seq never goes backwards');
    this.#indexes.push(index);
    this.#seqs.push(lastSeq);
    if (this.#indexes.length > seqIndexEntriesMax * 2) {
      this.#indexes = this.#indexes.slice(-seqIndexEntriesMax);
      this.#seqs = this.#seqs.slice(-seqIndexEntriesMax);
    }
  }

  reset(index: number, lastSeq: number): void {
    this.#indexes = [index];
    this.#seqs = [lastSeq];
  }

  /** lastSeq after applying the greatest recorded index ≤ `index`; `fallback` if none is known. */
  seqAt(index: number, fallback: number): number {
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
    return found < 0 ? fallback : (this.#seqs[found] as number);
  }
}
