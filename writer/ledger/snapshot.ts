import type { Account } from './account.ts';
import { BinaryDecodeError } from './binary-event-codec.ts';
import { decodeBinarySnapshot, isBinarySnapshot } from './snapshot-encoder.ts';
import { CommittedLedgerState, type LedgerState } from './ledger-state.ts';
import type { PendingStatus, Transfer, TransferKind } from './transfer.ts';

/**
 * Canonical encoding of a ledger state as JSON bytes: accounts and transfers sorted by id
 * (UTF-16 code-unit order), fixed field order, amounts as decimal strings. Equal states give
 * equal bytes on every node, so the bytes feed `stateDigest`. O(n log n) and in one go: writer
 * nodes snapshot with the sliced binary form of snapshot-encoder.ts, which decodeSnapshot reads too.
 *
 * Layout: `{ "v": 1, "lastSeq": n, "accounts": [AccountRow…], "transfers": [TransferRow…] }`
 * AccountRow  = [id, ledger, code, debitsMustNotExceedCredits, creditsMustNotExceedDebits,
 *                userData|null, debitsPending, debitsPosted, creditsPending, creditsPosted]
 * TransferRow = [id, kind, debitAccountId, creditAccountId, amount, ledger, code, userData|null,
 *                timeoutSeconds, timeoutAt|null, pendingStatus|null, resolvedBy|null, pendingId|null]
 */
export const snapshotVersion = 1;

type AccountRow = [string, number, number, boolean, boolean, string | null, string, string, string, string];
type TransferRow = [
  string, TransferKind, string, string, string, number, number, string | null,
  number, number | null, PendingStatus | null, string | null, string | null,
];

/** Thrown by `decodeSnapshot` for bytes that are not a snapshot this version can read. */
export class SnapshotDecodeError extends Error {
  readonly code = 'invalid_snapshot';

  constructor(message: string) {
    super(`invalid snapshot: ${message}`);
    this.name = 'SnapshotDecodeError';
  }
}

function byId(left: { id: string }, right: { id: string }): number {
  if (left.id === right.id) return 0;
  return left.id < right.id ? -1 : 1;
}

export function encodeSnapshot(state: LedgerState): Uint8Array {
  const accounts = [...state.accounts()].sort(byId).map(
    (account): AccountRow => [
      account.id, account.ledger, account.code,
      account.flags.debitsMustNotExceedCredits, account.flags.creditsMustNotExceedDebits,
      account.userData ?? null,
      account.debitsPending.toString(), account.debitsPosted.toString(),
      account.creditsPending.toString(), account.creditsPosted.toString(),
    ],
  );
  const transfers = [...state.transfers()].sort(byId).map(
    (transfer): TransferRow => [
      transfer.id, transfer.kind, transfer.debitAccountId, transfer.creditAccountId,
      transfer.amount.toString(), transfer.ledger, transfer.code, transfer.userData ?? null,
      transfer.timeoutSeconds, transfer.timeoutAt ?? null, transfer.pendingStatus ?? null,
      transfer.resolvedBy ?? null, transfer.pendingId ?? null,
    ],
  );
  const json = JSON.stringify({ v: snapshotVersion, lastSeq: state.lastSeq, accounts, transfers });
  return new TextEncoder().encode(json);
}

const transferKinds: ReadonlySet<string> = new Set<TransferKind>(['single_phase', 'pending', 'post_pending', 'void_pending']);
const pendingStatuses: ReadonlySet<string> = new Set<PendingStatus>(['pending', 'posted', 'voided', 'expired']);

/**
 * A fresh committed store holding exactly what the snapshot holds (expiry index rebuilt): the
 * binary sliced form writer nodes take (snapshot-encoder.ts) or this canonical JSON form.
 */
export function decodeSnapshot(bytes: Uint8Array): CommittedLedgerState {
  if (isBinarySnapshot(bytes)) {
    try {
      return decodeBinarySnapshot(bytes);
    } catch (error) {
      if (error instanceof BinaryDecodeError) throw new SnapshotDecodeError(error.message);
      throw error;
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new SnapshotDecodeError(`not UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new SnapshotDecodeError('not an object');
  const root = parsed as { v?: unknown; lastSeq?: unknown; accounts?: unknown; transfers?: unknown };
  if (root.v !== snapshotVersion) throw new SnapshotDecodeError(`version ${String(root.v)}, expected ${snapshotVersion}`);
  if (typeof root.lastSeq !== 'number' || !Number.isSafeInteger(root.lastSeq) || root.lastSeq < 0) {
    throw new SnapshotDecodeError('lastSeq');
  }
  if (!Array.isArray(root.accounts) || !Array.isArray(root.transfers)) throw new SnapshotDecodeError('accounts/transfers');
  const state = new CommittedLedgerState();
  state.restoreLastSeq(root.lastSeq);
  for (const row of root.accounts as unknown[]) state.putAccount(decodeAccountRow(row));
  for (const row of root.transfers as unknown[]) state.putTransfer(decodeTransferRow(row));
  if (state.accountCount !== root.accounts.length || state.transferCount !== root.transfers.length) {
    throw new SnapshotDecodeError('duplicate ids');
  }
  return state;
}

function decodeAccountRow(row: unknown): Account {
  if (!Array.isArray(row) || row.length !== 10) throw new SnapshotDecodeError('account row shape');
  const [id, ledger, code, debitsMustNotExceedCredits, creditsMustNotExceedDebits, userData, ...counters] = row as unknown[];
  return {
    id: text(id, 'account id'),
    ledger: integer(ledger, 'account ledger'),
    code: integer(code, 'account code'),
    flags: { debitsMustNotExceedCredits: flag(debitsMustNotExceedCredits), creditsMustNotExceedDebits: flag(creditsMustNotExceedDebits) },
    userData: userData === null ? undefined : text(userData, 'account userData'),
    debitsPending: counter(counters[0]),
    debitsPosted: counter(counters[1]),
    creditsPending: counter(counters[2]),
    creditsPosted: counter(counters[3]),
  };
}

function decodeTransferRow(row: unknown): Transfer {
  if (!Array.isArray(row) || row.length !== 13) throw new SnapshotDecodeError('transfer row shape');
  const [id, kind, debitAccountId, creditAccountId, amount, ledger, code, userData, timeoutSeconds, timeoutAt, pendingStatus, resolvedBy, pendingId] =
    row as unknown[];
  if (typeof kind !== 'string' || !transferKinds.has(kind)) throw new SnapshotDecodeError('transfer kind');
  if (pendingStatus !== null && (typeof pendingStatus !== 'string' || !pendingStatuses.has(pendingStatus))) {
    throw new SnapshotDecodeError('transfer pendingStatus');
  }
  return {
    id: text(id, 'transfer id'),
    kind: kind as TransferKind,
    debitAccountId: text(debitAccountId, 'debitAccountId'),
    creditAccountId: text(creditAccountId, 'creditAccountId'),
    amount: counter(amount),
    ledger: integer(ledger, 'transfer ledger'),
    code: integer(code, 'transfer code'),
    userData: userData === null ? undefined : text(userData, 'transfer userData'),
    timeoutSeconds: integer(timeoutSeconds, 'timeoutSeconds'),
    timeoutAt: timeoutAt === null ? undefined : integer(timeoutAt, 'timeoutAt'),
    pendingStatus: pendingStatus === null ? undefined : (pendingStatus as PendingStatus),
    resolvedBy: resolvedBy === null ? undefined : text(resolvedBy, 'resolvedBy'),
    pendingId: pendingId === null ? undefined : text(pendingId, 'pendingId'),
  };
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new SnapshotDecodeError(what);
  return value;
}

function integer(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new SnapshotDecodeError(what);
  return value;
}

function flag(value: unknown): boolean {
  if (typeof value !== 'boolean') throw new SnapshotDecodeError('account flag');
  return value;
}

function counter(value: unknown): bigint {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]*)$/.test(value)) throw new SnapshotDecodeError('amount or counter');
  return BigInt(value);
}
