import assert from 'node:assert/strict';
import type { Account } from './account.ts';
import { ByteSink } from '../../common/binary/byte-sink.ts';
import { BinaryDecodeError, ByteSource } from './binary-event-codec.ts';
import { CommittedLedgerState, type SnapshotView } from './ledger-state.ts';
import { codeMax, counterMax, ledgerMax, timeoutSecondsMax, userDataLengthMax } from './limits.ts';
import type { PendingStatus, Transfer, TransferKind } from './transfer.ts';

/**
 * The snapshot a writer node takes of its committed ledger state, in a binary form written in
 * slices: the node encodes a few tens of thousands of records, yields to the event loop
 * (heartbeats, requests, applying), and goes on, reading through a SnapshotView that keeps the
 * state as it was when the snapshot began. Encoding a million transfers in one go (sorted
 * canonical JSON, snapshot.ts) blocked the leader for seconds — past the election timeout.
 *
 * Records are in insertion order (the same on every node that applied the same log); the
 * canonical sorted encoding stays what `stateDigest` hashes.
 *
 * Layout (varints are unsigned LEB128, as in binary-event-codec.ts):
 *   magic "LSB2", lastSeq varint, accountCount varint, transferCount varint, then
 *   account   id, ledger varint, code varint, flags u8 (bit 0 debitsMustNotExceedCredits, bit 1
 *             creditsMustNotExceedDebits), optional userData, debitsPending, debitsPosted,
 *             creditsPending, creditsPosted (each u64 LE ≤ 2^63−1)
 *   transfer  id, kind u8, debitAccountId, creditAccountId, amount u64, ledger, code, optional
 *             userData, timeoutSeconds varint, optional timeoutAt varint, pendingStatus u8
 *             (0 none, 1 pending, 2 posted, 3 voided, 4 expired), optional resolvedBy id,
 *             optional pendingId id
 *   (optional = u8 0, or u8 1 then the value)
 */
export const binarySnapshotMagic = Buffer.from('LSB2', 'ascii');

const transferKinds: readonly TransferKind[] = ['single_phase', 'pending', 'post_pending', 'void_pending'];
const pendingStatuses: readonly (PendingStatus | undefined)[] = [undefined, 'pending', 'posted', 'voided', 'expired'];
const flagDebitsMustNotExceedCredits = 1;
const flagCreditsMustNotExceedDebits = 2;
const userDataBytesMax = userDataLengthMax * 3;

/** Records encoded per slice by default (~1–3 MB of output, a few ms of work). */
export const snapshotSliceRecordsDefault = 20_000;

export function isBinarySnapshot(bytes: Uint8Array): boolean {
  return bytes.length >= binarySnapshotMagic.length && Buffer.from(bytes.buffer, bytes.byteOffset, binarySnapshotMagic.length).equals(binarySnapshotMagic);
}

/**
 * Encodes a SnapshotView slice by slice; `next()` returns the next piece of bytes, undefined when
 * done. Pieces: the header with the accounts (`recordsMax` accounts per piece), then one piece
 * per chunk of `view.transferChunks.chunkRecords` transfers. A whole chunk whose records did not
 * change since a previous snapshot of the same state encoded it is not encoded again: its bytes
 * come from `view.transferChunks` (transfers are never deleted and only pending ones change, so
 * a snapshot costs about what changed, not the whole state).
 */
export class SnapshotEncoder {
  readonly #view: SnapshotView;
  readonly #sink = new ByteSink(1 << 20);
  readonly #accounts: Iterator<Account>;
  #headerWritten = false;
  #accountsLeft: number;
  #transfersLeft: number;
  /** Transfer chunks taken from the cache so far (for the node's log). */
  reusedChunks = 0;
  /** Transfer chunks encoded so far. */
  encodedChunks = 0;

  constructor(view: SnapshotView) {
    this.#view = view;
    this.#accounts = view.accounts();
    this.#accountsLeft = view.accountCount;
    this.#transfersLeft = view.transferCount;
  }

  get done(): boolean {
    return this.#headerWritten && this.#accountsLeft === 0 && this.#transfersLeft === 0;
  }

  next(recordsMax: number = snapshotSliceRecordsDefault): Uint8Array | undefined {
    assert(Number.isSafeInteger(recordsMax) && recordsMax > 0);
    if (this.done) return undefined;
    const sink = this.#sink;
    sink.reset();
    if (!this.#headerWritten) {
      for (const byte of binarySnapshotMagic) sink.byte(byte);
      sink.varint(this.#view.lastSeq);
      sink.varint(this.#view.accountCount);
      sink.varint(this.#view.transferCount);
      this.#headerWritten = true;
      if (this.#accountsLeft === 0) return sink.finish();
    }
    if (this.#accountsLeft > 0) {
      for (let budget = recordsMax; budget > 0 && this.#accountsLeft > 0; budget -= 1, this.#accountsLeft -= 1) {
        const next = this.#accounts.next();
        assert(next.done !== true, 'the view ended before accountCount accounts');
        writeAccount(sink, next.value);
      }
      return sink.finish();
    }
    const cache = this.#view.transferChunks;
    const chunkRecords = cache.chunkRecords;
    const position = this.#view.transferCount - this.#transfersLeft;
    const chunk = position / chunkRecords;
    assert(Number.isInteger(chunk), 'transfer pieces start on chunk boundaries');
    const count = Math.min(chunkRecords, this.#transfersLeft);
    const whole = count === chunkRecords;
    const cached = whole ? cache.get(chunk) : undefined;
    this.#transfersLeft -= count;
    if (cached !== undefined) {
      this.reusedChunks += 1;
      return cached;
    }
    const transfers = this.#view.transfers(position, count);
    for (let left = count; left > 0; left -= 1) {
      const next = transfers.next();
      assert(next.done !== true, 'the view ended before transferCount transfers');
      writeTransfer(sink, next.value);
    }
    this.encodedChunks += 1;
    const bytes = sink.finish();
    if (whole) cache.set(chunk, bytes);
    return bytes;
  }
}

/** The whole view in one go (tests and small states). */
export function encodeBinarySnapshot(view: SnapshotView): Uint8Array {
  const encoder = new SnapshotEncoder(view);
  const pieces: Uint8Array[] = [];
  for (let piece = encoder.next(); piece !== undefined; piece = encoder.next()) pieces.push(piece);
  return Buffer.concat(pieces);
}

function writeOptionalText(sink: ByteSink, value: string | undefined, write: (text: string) => void): void {
  if (value === undefined) {
    sink.byte(0);
    return;
  }
  sink.byte(1);
  write(value);
}

function writeAccount(sink: ByteSink, account: Account): void {
  sink.ascii(account.id);
  sink.varint(account.ledger);
  sink.varint(account.code);
  sink.byte((account.flags.debitsMustNotExceedCredits ? flagDebitsMustNotExceedCredits : 0) | (account.flags.creditsMustNotExceedDebits ? flagCreditsMustNotExceedDebits : 0));
  writeOptionalText(sink, account.userData, (text) => sink.utf8(text));
  sink.u64(account.debitsPending);
  sink.u64(account.debitsPosted);
  sink.u64(account.creditsPending);
  sink.u64(account.creditsPosted);
}

function writeTransfer(sink: ByteSink, transfer: Transfer): void {
  sink.ascii(transfer.id);
  sink.byte(transferKinds.indexOf(transfer.kind));
  sink.ascii(transfer.debitAccountId);
  sink.ascii(transfer.creditAccountId);
  sink.u64(transfer.amount);
  sink.varint(transfer.ledger);
  sink.varint(transfer.code);
  writeOptionalText(sink, transfer.userData, (text) => sink.utf8(text));
  sink.varint(transfer.timeoutSeconds);
  if (transfer.timeoutAt === undefined) sink.byte(0);
  else {
    sink.byte(1);
    sink.varint(transfer.timeoutAt);
  }
  sink.byte(pendingStatuses.indexOf(transfer.pendingStatus));
  writeOptionalText(sink, transfer.resolvedBy, (text) => sink.ascii(text));
  writeOptionalText(sink, transfer.pendingId, (text) => sink.ascii(text));
}

/** A fresh committed store holding what a binary snapshot holds; throws BinaryDecodeError naming the field. */
export function decodeBinarySnapshot(bytes: Uint8Array, options: { transferChunkRecords?: number } = {}): CommittedLedgerState {
  if (!isBinarySnapshot(bytes)) throw new BinaryDecodeError('snapshot', 'does not start with the LSB2 magic');
  const source = new ByteSource(bytes);
  for (let index = 0; index < binarySnapshotMagic.length; index += 1) source.byte('snapshot magic');
  const lastSeq = source.varint('snapshot lastSeq');
  const accountCount = source.varint('snapshot accountCount');
  const transferCount = source.varint('snapshot transferCount');
  const state = new CommittedLedgerState(options);
  state.restoreLastSeq(lastSeq);
  for (let index = 0; index < accountCount; index += 1) state.putAccount(readAccount(source));
  // Whole chunks of transfers are kept as read (views into `bytes`): the next snapshot of this
  // state — a restarted node's, or a follower's after installing the leader's — reuses them.
  const chunkRecords = state.transferChunkRecords;
  const chunks: { chunk: number; start: number; end: number }[] = [];
  let chunkStart = source.position;
  for (let index = 0; index < transferCount; index += 1) {
    state.putTransfer(readTransfer(source));
    if ((index + 1) % chunkRecords === 0) {
      chunks.push({ chunk: (index + 1) / chunkRecords - 1, start: chunkStart, end: source.position });
      chunkStart = source.position;
    }
  }
  if (!source.done) throw new BinaryDecodeError('snapshot', 'has bytes after the last transfer');
  if (state.accountCount !== accountCount || state.transferCount !== transferCount) throw new BinaryDecodeError('snapshot', 'repeats an id');
  for (const { chunk, start, end } of chunks) state.seedTransferChunk(chunk, bytes.subarray(start, end));
  return state;
}

function counter(source: ByteSource, field: string): bigint {
  const value = source.u64(field);
  if (value > counterMax) throw new BinaryDecodeError(field, 'must be at most 2^63-1');
  return value;
}

function optional<T>(source: ByteSource, field: string, read: () => T): T | undefined {
  return source.present(field) ? read() : undefined;
}

function readAccount(source: ByteSource): Account {
  const id = source.id('account.id');
  const ledger = source.integer('account.ledger', 1, ledgerMax);
  const code = source.integer('account.code', 0, codeMax);
  const flags = source.byte('account.flags');
  if (flags > (flagDebitsMustNotExceedCredits | flagCreditsMustNotExceedDebits)) throw new BinaryDecodeError('account.flags', 'has unknown bits');
  const userData = optional(source, 'account.userData', () => source.utf8('account.userData', userDataBytesMax));
  return {
    id, ledger, code,
    flags: { debitsMustNotExceedCredits: (flags & flagDebitsMustNotExceedCredits) !== 0, creditsMustNotExceedDebits: (flags & flagCreditsMustNotExceedDebits) !== 0 },
    userData,
    debitsPending: counter(source, 'account.debitsPending'),
    debitsPosted: counter(source, 'account.debitsPosted'),
    creditsPending: counter(source, 'account.creditsPending'),
    creditsPosted: counter(source, 'account.creditsPosted'),
  };
}

function readTransfer(source: ByteSource): Transfer {
  const id = source.id('transfer.id');
  const kind = transferKinds[source.byte('transfer.kind')];
  if (kind === undefined) throw new BinaryDecodeError('transfer.kind', 'is not a known kind');
  const debitAccountId = source.id('transfer.debitAccountId');
  const creditAccountId = source.id('transfer.creditAccountId');
  const amount = source.amount('transfer.amount');
  const ledger = source.integer('transfer.ledger', 1, ledgerMax);
  const code = source.integer('transfer.code', 0, codeMax);
  const userData = optional(source, 'transfer.userData', () => source.utf8('transfer.userData', userDataBytesMax));
  const timeoutSeconds = source.integer('transfer.timeoutSeconds', 0, timeoutSecondsMax);
  const timeoutAt = optional(source, 'transfer.timeoutAt', () => source.varint('transfer.timeoutAt'));
  const statusTag = source.byte('transfer.pendingStatus');
  if (statusTag >= pendingStatuses.length) throw new BinaryDecodeError('transfer.pendingStatus', 'is not a known status');
  const pendingStatus = pendingStatuses[statusTag];
  const resolvedBy = optional(source, 'transfer.resolvedBy', () => source.id('transfer.resolvedBy'));
  const pendingId = optional(source, 'transfer.pendingId', () => source.id('transfer.pendingId'));
  return { id, kind, debitAccountId, creditAccountId, amount, ledger, code, userData, timeoutSeconds, timeoutAt, pendingStatus, resolvedBy, pendingId };
}
