/**
 * Where the publisher reads committed events from: the writer node implements this over its
 * applied Raft log (every event with its dense per-shard seq). The in-memory implementation is
 * for tests and benches.
 */
import assert from 'node:assert/strict';
import type { EnvelopeInput } from '../../common/events/envelope.ts';

export interface CommittedEventSource {
  /** The seq of the last committed (applied) event, 0 when there is none. */
  lastSeq(): number;
  /**
   * Committed events with seq ≥ `fromSeq`, in seq order, at most `max` (may return fewer, or none
   * when `fromSeq > lastSeq()`). The first returned event has seq = `fromSeq`: the log is never
   * compacted past what Kafka has acknowledged (DESIGN.md §5).
   */
  read(fromSeq: number, max: number): EnvelopeInput[];
}

/** Events appended in seq order, held in memory (tests, benches). */
export class InMemoryCommittedEventSource implements CommittedEventSource {
  readonly #events: EnvelopeInput[] = [];

  constructor(events: readonly EnvelopeInput[] = []) {
    this.append(events);
  }

  /** Appends the next committed events; seq must continue densely from `lastSeq() + 1`. */
  append(events: readonly EnvelopeInput[]): void {
    for (const event of events) {
      assert.equal(event.seq, this.#events.length + 1, `seq ${event.seq} does not follow ${this.#events.length}`);
      this.#events.push(event);
    }
  }

  lastSeq(): number {
    return this.#events.length;
  }

  read(fromSeq: number, max: number): EnvelopeInput[] {
    assert.ok(Number.isSafeInteger(fromSeq) && fromSeq >= 1, `fromSeq ${fromSeq} must be a positive integer`);
    assert.ok(Number.isSafeInteger(max) && max >= 1, `max ${max} must be a positive integer`);
    return this.#events.slice(fromSeq - 1, fromSeq - 1 + max);
  }
}
