/**
 * The publisher's `CommittedEventSource` over a node's applied Raft log (DESIGN.md §5): every
 * applied event with its dense seq, the Raft index and term of the entry holding it, the command
 * id, its position among the command's events and the leader's clock.
 *
 * Events live in the node's records: the Raft log from its first index on, and — for entries a
 * snapshot covers — the unpublished command records that snapshot carried (node-snapshot.ts). The
 * compaction floor (the replicated published watermark) guarantees every event above the
 * watermark is in one of the two; needing one that is in neither is a broken invariant (assert).
 */
import assert from 'node:assert/strict';
import type { EnvelopeInput } from '../../common/events/envelope.ts';
import type { CommittedEventSource } from '../publisher/committed-event-source.ts';
import { decodeNodeRecord, recordEvents, type NodeRecord } from './command-record.ts';
import type { SeqIndex } from './seq-index.ts';

/** A `normal` entry's payload with its term, wherever the node still holds it. */
export interface HeldRecord {
  readonly term: number;
  readonly data: Uint8Array;
}

export interface AppliedLog {
  readonly shard: number;
  readonly seqIndex: SeqIndex;
  /** Seq of the last applied event. */
  lastSeq(): number;
  appliedIndex(): number;
  /**
   * The payload of entry `index` if it is a `normal` entry the node holds (log or snapshot
   * records); `null` for an entry that carries no events (noop, membership), `undefined` if the
   * node no longer holds it.
   */
  recordAt(index: number): HeldRecord | null | undefined;
  /** The lowest index whose record the node holds (entries below are compacted). */
  heldFromIndex(): number;
}

/**
 * Decoded records kept for the publisher's next reads: the leader hands in what it decoded while
 * applying (`remember`), so publishing does not decode every record a second time. Bounded by the
 * events the records hold (at least the newest record is kept).
 */
export const decodedEventsCacheMax = 100_000;

export class AppliedEventSource implements CommittedEventSource {
  readonly #log: AppliedLog;
  readonly #decoded = new Map<number, { readonly term: number; readonly record: NodeRecord }>();
  #decodedEvents = 0;

  constructor(log: AppliedLog) {
    this.#log = log;
  }

  lastSeq(): number {
    return this.#log.lastSeq();
  }

  /** The lowest seq `read` can serve (events below were compacted away after publishing). */
  firstReadableSeq(): number {
    const heldFrom = this.#log.heldFromIndex();
    return this.#log.seqIndex.seqAt(heldFrom - 1, this.#log.lastSeq()) + 1;
  }

  read(fromSeq: number, max: number): EnvelopeInput[] {
    assert.ok(Number.isSafeInteger(fromSeq) && fromSeq >= 1, `fromSeq ${fromSeq} must be a positive integer`);
    assert.ok(Number.isSafeInteger(max) && max >= 1, `max ${max} must be a positive integer`);
    const lastSeq = this.#log.lastSeq();
    if (fromSeq > lastSeq) return [];
    const location = this.#log.seqIndex.locate(fromSeq);
    assert.ok(location !== undefined && location.index >= this.#log.heldFromIndex(), `event seq ${fromSeq} is no longer held by this node (compacted past the published watermark?)`);
    const events: EnvelopeInput[] = [];
    const appliedIndex = this.#log.appliedIndex();
    let seq = location.seqBefore;
    for (let index = location.index; index <= appliedIndex && events.length < max && seq < lastSeq; index += 1) {
      const held = this.#decode(index);
      if (held === undefined) {
        assert.equal(this.#log.seqIndex.seqAt(index, seq), seq, `entry ${index} holds events but this node no longer has it`);
        continue;
      }
      if (held === null) continue;
      if (held.record.kind !== 'command') continue;
      const { record, term } = held;
      for (let eventIndex = 0; eventIndex < record.events.length; eventIndex += 1) {
        seq += 1;
        if (seq < fromSeq) continue;
        if (events.length >= max) break;
        events.push({
          shard: this.#log.shard, seq, raftIndex: index, raftTerm: term, commandId: record.commandId, eventIndex,
          occurredAtMs: record.occurredAt, event: record.events[eventIndex]!,
        });
      }
    }
    assert.ok(events.length === 0 || events[0]!.seq === fromSeq, `read(${fromSeq}) started at ${events[0]?.seq}`);
    return events;
  }

  /** A record the node decoded while applying entry `index` (the leader, so the publisher can reuse it). */
  remember(index: number, term: number, record: NodeRecord): void {
    if (this.#decoded.has(index)) return;
    this.#cache(index, { term, record });
  }

  #cache(index: number, decoded: { readonly term: number; readonly record: NodeRecord }): void {
    this.#decoded.set(index, decoded);
    this.#decodedEvents += recordEvents(decoded.record).length;
    while (this.#decodedEvents > decodedEventsCacheMax && this.#decoded.size > 1) {
      const oldest = this.#decoded.keys().next().value as number;
      this.#decodedEvents -= recordEvents(this.#decoded.get(oldest)!.record).length;
      this.#decoded.delete(oldest);
    }
  }

  #decode(index: number): { readonly term: number; readonly record: NodeRecord } | null | undefined {
    const cached = this.#decoded.get(index);
    if (cached !== undefined) return cached;
    const held = this.#log.recordAt(index);
    if (held === null || held === undefined) return held;
    const decoded = { term: held.term, record: decodeNodeRecord(held.data) };
    this.#cache(index, decoded);
    return decoded;
  }
}
