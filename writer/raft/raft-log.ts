// The in-memory Raft log of one node: entries after a compaction point (`offset`, whose term is
// kept so AppendEntries can still name it as prevLogTerm). Persistence is the shell's job; this
// only holds what the core needs to replicate and to check Log Matching (§5.3).

import assert from 'node:assert/strict';
import { entryHeaderBytes, type Entry } from './entry.ts';

export class RaftLog {
  #entries: Entry[];
  #offset: number;
  #offsetTerm: number;

  constructor(offset: number, offsetTerm: number, entries: readonly Entry[]) {
    assert(offset >= 0 && offsetTerm >= 0);
    this.#offset = offset;
    this.#offsetTerm = offsetTerm;
    this.#entries = [];
    for (const entry of entries) {
      if (entry.index <= offset) continue;
      assert.equal(entry.index, this.lastIndex + 1, 'restored entries must be contiguous with the snapshot');
      assert(entry.term >= this.lastTerm, 'terms in the log never decrease');
      this.#entries.push(entry);
    }
  }

  get offset(): number {
    return this.#offset;
  }

  get offsetTerm(): number {
    return this.#offsetTerm;
  }

  get firstIndex(): number {
    return this.#offset + 1;
  }

  get lastIndex(): number {
    return this.#offset + this.#entries.length;
  }

  get lastTerm(): number {
    const last = this.#entries[this.#entries.length - 1];
    return last === undefined ? this.#offsetTerm : last.term;
  }

  /** Term of the entry at `index`; undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.#offset) return this.#offsetTerm;
    if (index < this.#offset || index > this.lastIndex) return undefined;
    return this.#entries[index - this.#offset - 1]!.term;
  }

  entry(index: number): Entry {
    const entry = this.#entries[index - this.#offset - 1];
    if (entry === undefined) assert.fail(`entry ${index} is not in the log [${this.firstIndex}, ${this.lastIndex}]`);
    return entry;
  }

  /** Entries [from, to] (inclusive), at most `countMax` and `bytesMax` (always at least one). */
  slice(from: number, to: number, countMax: number, bytesMax: number): Entry[] {
    if (from <= this.#offset) assert.fail(`slice from ${from} reaches compacted entries (offset ${this.#offset})`);
    const last = Math.min(to, this.lastIndex, from + countMax - 1);
    if (last < from) return [];
    const start = from - this.#offset - 1;
    const endMax = last - this.#offset;
    if (bytesMax === Number.POSITIVE_INFINITY) return this.#entries.slice(start, endMax);
    const entries = this.#entries;
    let end = start;
    let bytes = 0;
    while (end < endMax) {
      bytes += entryHeaderBytes + entries[end]!.data.length;
      if (bytes > bytesMax && end > start) break;
      end++;
    }
    return entries.slice(start, end);
  }

  /** Append entries that directly follow the last one. */
  append(entries: readonly Entry[]): void {
    const log = this.#entries;
    let expectedIndex = this.lastIndex + 1;
    let lastTerm = this.lastTerm;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      // Plain comparisons on the hot path; assert only to report the broken invariant.
      if (entry.index !== expectedIndex) assert.fail(`appended entry ${entry.index} is not contiguous (expected ${expectedIndex})`);
      if (entry.term < lastTerm) assert.fail(`appended entry ${entry.index} has term ${entry.term} below ${lastTerm}`);
      lastTerm = entry.term;
      expectedIndex++;
      log.push(entry);
    }
  }

  /** Drop every entry at index >= `from` (a conflicting suffix, §5.3). */
  truncateFrom(from: number): void {
    assert(from > this.#offset, 'cannot truncate compacted entries');
    if (from > this.lastIndex) return;
    this.#entries.length = from - this.#offset - 1;
  }

  /** First index where `entries` disagree with the log (or go past its end); 0 if all match. */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (entry.index <= this.#offset) continue;
      if (this.term(entry.index) !== entry.term) return entry.index;
    }
    return 0;
  }

  /** Drop entries at or below `index` (compaction); the log must hold `index`. */
  compact(index: number): void {
    if (index <= this.#offset) return;
    assert(index <= this.lastIndex, `cannot compact to ${index} beyond the last index ${this.lastIndex}`);
    const term = this.term(index)!;
    this.#entries = this.#entries.slice(index - this.#offset);
    this.#offset = index;
    this.#offsetTerm = term;
  }

  /** Replace the whole log by a snapshot point. */
  reset(offset: number, offsetTerm: number): void {
    this.#entries = [];
    this.#offset = offset;
    this.#offsetTerm = offsetTerm;
  }

  /** First index of the run of `term` that contains `index`, not below the log's first index. */
  firstIndexOfTermAt(index: number): number {
    const term = this.term(index);
    assert(term !== undefined);
    let first = index;
    while (first - 1 > this.#offset && this.term(first - 1) === term) first--;
    return first;
  }

  /** Last index at or below `atMost` holding `term`; 0 when none is in the log. */
  lastIndexOfTerm(term: number, atMost: number): number {
    for (let index = Math.min(atMost, this.lastIndex); index > this.#offset; index--) {
      const entryTerm = this.term(index)!;
      if (entryTerm === term) return index;
      if (entryTerm < term) return 0;
    }
    return 0;
  }
}
