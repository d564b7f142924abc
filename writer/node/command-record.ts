/**
 * What one Raft entry of kind `normal` carries: the events the leader decided for one command,
 * with the command's id and the leader's clock. Followers only decode and apply these events;
 * they never re-decide (DESIGN.md §2: replicate events, not commands).
 */
import { decodeEvent, encodeEvent, type EncodedLedgerEvent, type LedgerEvent } from '../ledger/index.ts';

export interface CommandRecord {
  readonly commandId: string;
  /** The leader's clock when it decided the command, ms since the epoch. */
  readonly occurredAt: number;
  readonly events: readonly LedgerEvent[];
}

const recordVersion = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeCommandRecord(record: CommandRecord): Uint8Array {
  const json = JSON.stringify({ v: recordVersion, commandId: record.commandId, occurredAt: record.occurredAt, events: record.events.map(encodeEvent) });
  return encoder.encode(json);
}

export class CommandRecordDecodeError extends Error {
  constructor(reason: string) {
    super(`invalid command record in the Raft log: ${reason}`);
    this.name = 'CommandRecordDecodeError';
  }
}

export function decodeCommandRecord(bytes: Uint8Array): CommandRecord {
  let root: { v?: unknown; commandId?: unknown; occurredAt?: unknown; events?: unknown };
  try {
    root = JSON.parse(decoder.decode(bytes)) as typeof root;
  } catch (error) {
    throw new CommandRecordDecodeError(`not JSON (${(error as Error).message})`);
  }
  if (root.v !== recordVersion) throw new CommandRecordDecodeError(`unknown version ${String(root.v)}`);
  if (typeof root.commandId !== 'string') throw new CommandRecordDecodeError('commandId is not a string');
  if (typeof root.occurredAt !== 'number' || !Number.isSafeInteger(root.occurredAt)) throw new CommandRecordDecodeError('occurredAt is not an integer');
  if (!Array.isArray(root.events)) throw new CommandRecordDecodeError('events is not an array');
  return {
    commandId: root.commandId,
    occurredAt: root.occurredAt,
    events: (root.events as EncodedLedgerEvent[]).map((event) => decodeEvent(event)),
  };
}
