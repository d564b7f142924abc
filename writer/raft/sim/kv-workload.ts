// The simulator's application: a key-value register replicated through the Raft log, and the
// encoding of its commands and snapshots. Client histories use the linearizability checker's
// kv-register model (common/linearizability/models/kv-register.ts).

import assert from 'node:assert/strict';

export const workloadKeys: readonly string[] = ['x', 'y', 'z'];

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function encodePut(key: string, value: string): Uint8Array {
  return textEncoder.encode(`${key}=${value}`);
}

export function decodePut(data: Uint8Array): { key: string; value: string } {
  const text = textDecoder.decode(data);
  const separator = text.indexOf('=');
  assert(separator > 0, 'a put payload is key=value');
  return { key: text.slice(0, separator), value: text.slice(separator + 1) };
}

export function encodeKvSnapshot(state: ReadonlyMap<string, string>): Uint8Array {
  return textEncoder.encode(JSON.stringify([...state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

export function decodeKvSnapshot(data: Uint8Array): Map<string, string> {
  if (data.length === 0) return new Map();
  const parsed: unknown = JSON.parse(textDecoder.decode(data));
  assert(Array.isArray(parsed));
  return new Map(parsed as [string, string][]);
}
