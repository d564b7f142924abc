import assert from 'node:assert/strict';

/**
 * One call or return event of an operation, in a doubly linked list ordered by time. Calls sort
 * before returns at equal times, so operations that touch at a timestamp count as concurrent (the
 * permissive reading: one operation precedes another only if it returned strictly before the
 * other was called).
 */
export interface HistoryEvent {
  readonly operation: number;
  readonly time: number;
  readonly isCall: boolean;
  /** For a call: its return event. For a return: null. */
  match: HistoryEvent | null;
  previous: HistoryEvent | null;
  next: HistoryEvent | null;
}

export interface TimedOperation {
  readonly call: number;
  readonly return: number;
}

/** Builds the list and returns its sentinel head (`head.next` is the earliest event). */
export function buildEventList(operations: readonly TimedOperation[]): HistoryEvent {
  const events: HistoryEvent[] = [];
  operations.forEach((operation, index) => {
    const returnEvent: HistoryEvent = {
      operation: index, time: operation.return, isCall: false, match: null, previous: null, next: null,
    };
    const callEvent: HistoryEvent = {
      operation: index, time: operation.call, isCall: true, match: returnEvent, previous: null, next: null,
    };
    events.push(callEvent, returnEvent);
  });
  events.sort(compareEvents);
  const head: HistoryEvent = { operation: -1, time: -Infinity, isCall: false, match: null, previous: null, next: null };
  let last = head;
  for (const event of events) {
    last.next = event;
    event.previous = last;
    last = event;
  }
  return head;
}

function compareEvents(left: HistoryEvent, right: HistoryEvent): number {
  if (left.time !== right.time) return left.time < right.time ? -1 : 1;
  if (left.isCall !== right.isCall) return left.isCall ? -1 : 1;
  return left.operation - right.operation;
}

/** Unlinks a call and its return (the operation has been linearized). */
export function lift(call: HistoryEvent): void {
  const returnEvent = call.match;
  assert(call.isCall && returnEvent !== null);
  assert(call.previous !== null && call.next !== null);
  call.previous.next = call.next;
  call.next.previous = call.previous;
  assert(returnEvent.previous !== null);
  returnEvent.previous.next = returnEvent.next;
  if (returnEvent.next !== null) returnEvent.next.previous = returnEvent.previous;
}

/** Exactly undoes `lift(call)`; lifts must be undone in reverse order. */
export function unlift(call: HistoryEvent): void {
  const returnEvent = call.match;
  assert(call.isCall && returnEvent !== null);
  assert(returnEvent.previous !== null);
  returnEvent.previous.next = returnEvent;
  if (returnEvent.next !== null) returnEvent.next.previous = returnEvent;
  assert(call.previous !== null && call.next !== null);
  call.previous.next = call;
  call.next.previous = call;
}
