import assert from 'node:assert/strict';

/** One pending transfer waiting for its timeout. Ordered by (timeoutAt, id): deterministic. */
export interface ExpiryEntry {
  readonly timeoutAt: number;
  readonly id: string;
}

export function compareExpiry(left: ExpiryEntry, right: ExpiryEntry): number {
  if (left.timeoutAt !== right.timeoutAt) return left.timeoutAt < right.timeoutAt ? -1 : 1;
  if (left.id === right.id) return 0;
  return left.id < right.id ? -1 : 1;
}

/**
 * Indexed binary min-heap of pending transfers by (timeoutAt, id): add and remove-by-id in
 * O(log n), peek in O(1), and an in-order walk of the k smallest in O(k log k) that does not
 * modify the heap (so a read-only query can walk a parent state's heap).
 */
export class ExpiryHeap {
  readonly #entries: ExpiryEntry[] = [];
  readonly #positionById = new Map<string, number>();

  get size(): number {
    return this.#entries.length;
  }

  has(id: string): boolean {
    return this.#positionById.has(id);
  }

  peek(): ExpiryEntry | undefined {
    return this.#entries[0];
  }

  add(entry: ExpiryEntry): void {
    if (this.#positionById.has(entry.id)) assert.fail(`expiry entry ${entry.id} added twice`);
    this.#entries.push(entry);
    this.#positionById.set(entry.id, this.#entries.length - 1);
    this.#siftUp(this.#entries.length - 1);
  }

  /** Removes the entry of `id`; returns whether there was one. */
  remove(id: string): boolean {
    const position = this.#positionById.get(id);
    if (position === undefined) return false;
    this.#positionById.delete(id);
    const last = this.#entries.pop();
    assert(last !== undefined);
    if (position < this.#entries.length) {
      this.#entries[position] = last;
      this.#positionById.set(last.id, position);
      this.#siftDown(position);
      this.#siftUp(position);
    }
    return true;
  }

  /** Entries in ascending order, lazily. The heap must not change while the walk is in use. */
  *inOrder(): Generator<ExpiryEntry, void, undefined> {
    const entries = this.#entries;
    if (entries.length === 0) return;
    const frontier: number[] = [0];
    const before = (left: number, right: number): boolean =>
      compareExpiry(entries[left] as ExpiryEntry, entries[right] as ExpiryEntry) < 0;
    while (frontier.length > 0) {
      const index = popIndex(frontier, before);
      yield entries[index] as ExpiryEntry;
      const leftChild = 2 * index + 1;
      if (leftChild < entries.length) pushIndex(frontier, leftChild, before);
      if (leftChild + 1 < entries.length) pushIndex(frontier, leftChild + 1, before);
    }
  }

  #less(left: number, right: number): boolean {
    return compareExpiry(this.#entries[left] as ExpiryEntry, this.#entries[right] as ExpiryEntry) < 0;
  }

  #swap(left: number, right: number): void {
    const entries = this.#entries;
    const leftEntry = entries[left] as ExpiryEntry;
    const rightEntry = entries[right] as ExpiryEntry;
    entries[left] = rightEntry;
    entries[right] = leftEntry;
    this.#positionById.set(rightEntry.id, left);
    this.#positionById.set(leftEntry.id, right);
  }

  #siftUp(start: number): void {
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#less(index, parent)) return;
      this.#swap(index, parent);
      index = parent;
    }
  }

  #siftDown(start: number): void {
    let index = start;
    const length = this.#entries.length;
    while (true) {
      const left = 2 * index + 1;
      if (left >= length) return;
      const right = left + 1;
      const smaller = right < length && this.#less(right, left) ? right : left;
      if (!this.#less(smaller, index)) return;
      this.#swap(index, smaller);
      index = smaller;
    }
  }
}

/** Tiny binary heap of indices, used only by the in-order walk. */
function pushIndex(heap: number[], value: number, before: (left: number, right: number) => boolean): void {
  heap.push(value);
  let index = heap.length - 1;
  while (index > 0) {
    const parent = (index - 1) >> 1;
    if (!before(heap[index] as number, heap[parent] as number)) return;
    [heap[index], heap[parent]] = [heap[parent] as number, heap[index] as number];
    index = parent;
  }
}

function popIndex(heap: number[], before: (left: number, right: number) => boolean): number {
  const top = heap[0];
  assert(top !== undefined);
  const last = heap.pop() as number;
  if (heap.length > 0) {
    heap[0] = last;
    let index = 0;
    while (true) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const smaller =
        right < heap.length && before(heap[right] as number, heap[left] as number) ? right : left;
      if (!before(heap[smaller] as number, heap[index] as number)) break;
      [heap[index], heap[smaller]] = [heap[smaller] as number, heap[index] as number];
      index = smaller;
    }
  }
  return top;
}
