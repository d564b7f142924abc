import assert from 'node:assert/strict';

/**
 * A string-keyed map without V8's per-Map entry limit (2^24): a writer at 100k transfers/s
 * would hit that limit within minutes. Entries go to the newest segment until it holds
 * `segmentEntriesMax`; lookups try segments newest first. No deletion (the ledger never deletes).
 */
export const segmentEntriesMax = 1 << 23;

export class SegmentedMap<V> {
  readonly #segments: Map<string, V>[] = [new Map()];
  readonly #segmentEntriesMax: number;

  constructor(entriesPerSegmentMax: number = segmentEntriesMax) {
    assert(Number.isSafeInteger(entriesPerSegmentMax) && entriesPerSegmentMax > 0);
    this.#segmentEntriesMax = entriesPerSegmentMax;
  }

  get size(): number {
    let size = 0;
    for (const segment of this.#segments) size += segment.size;
    return size;
  }

  get(key: string): V | undefined {
    const segments = this.#segments;
    if (segments.length === 1) return (segments[0] as Map<string, V>).get(key);
    for (let index = segments.length - 1; index >= 0; index -= 1) {
      const value = (segments[index] as Map<string, V>).get(key);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Values must not be undefined (undefined means "absent"). */
  set(key: string, value: V): void {
    assert(value !== undefined);
    const segments = this.#segments;
    const first = segments[0] as Map<string, V>;
    if (segments.length === 1 && first.size < this.#segmentEntriesMax) {
      first.set(key, value);
      return;
    }
    for (let index = segments.length - 1; index >= 0; index -= 1) {
      const segment = segments[index] as Map<string, V>;
      if (segment.has(key)) {
        segment.set(key, value);
        return;
      }
    }
    let newest = segments[segments.length - 1] as Map<string, V>;
    if (newest.size >= this.#segmentEntriesMax) {
      newest = new Map();
      segments.push(newest);
    }
    newest.set(key, value);
  }

  *values(): Generator<V, void, undefined> {
    for (const segment of this.#segments) yield* segment.values();
  }
}
