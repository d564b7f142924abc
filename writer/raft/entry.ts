// A Raft log entry. Payloads are opaque bytes to the core; `noop` entries (a new leader's first
// entry and read barriers) carry no data; `membership` entries carry an encoded membership change
// (see membership.ts).

export type EntryKind = 'normal' | 'noop' | 'membership';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

export const emptyData: Uint8Array = new Uint8Array(0);

/** Bytes an entry counts for against `bytesPerMessageMax`: its payload plus a fixed header. */
export const entryHeaderBytes = 24;

export function entryBytes(entry: Entry): number {
  return entryHeaderBytes + entry.data.length;
}
