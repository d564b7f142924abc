import assert from 'node:assert/strict';
import { IdIndex } from './id-index.ts';
import type { PendingStatus, Transfer, TransferKind } from './transfer.ts';

/**
 * The committed store's transfers, kept in columns instead of one object per transfer.
 *
 * A writer holds every transfer it ever applied; as objects (a record, its amount, its account id
 * strings) that was ~245 bytes and five heap objects each, and the major collections of a heap of
 * millions of them stalled a node for 100–270 ms. Here a transfer is one slot: its fields in typed
 * arrays, its id's bytes in a per-block arena and its entry in the index (`IdIndex`), all outside
 * the JavaScript heap, so the heap the collector marks does not grow with the transfers. Slots are
 * assigned in insertion order and never move, so a slot is also the record's position in a
 * snapshot. `get` and `at` build a fresh `Transfer` on every call (records are values: callers
 * never rely on identity).
 *
 * Account ids are interned (each distinct id held once, transfers refer to it by number). Fields
 * most transfers do not have (`userData`, `resolvedBy`) live in sparse maps, flagged per slot.
 */
export class TransferTable {
  readonly #index = new IdIndex((slot, key) => this.#idEquals(slot, key));
  readonly #blocks: Block[] = [];
  #size = 0;
  readonly #accountNumbers = new Map<string, number>();
  readonly #accountIds: string[] = [];
  readonly #userData = new Map<number, string>();
  readonly #resolvedBy = new Map<number, string>();
  /** `pendingId`s that named no transfer in the table when written (e.g. decoded out of order). */
  readonly #pendingIdTexts = new Map<number, string>();
  /** Ids the arena cannot hold as one byte per character (outside Latin-1, or empty): rare. */
  readonly #wideIds = new Map<number, string>();

  get size(): number {
    return this.#size;
  }

  slotOf(id: string): number | undefined {
    return this.#index.get(id);
  }

  get(id: string): Transfer | undefined {
    const slot = this.#index.get(id);
    return slot === undefined ? undefined : this.at(slot);
  }

  /** The record in `slot` (0 ≤ slot < size), as a fresh object. */
  at(slot: number): Transfer {
    if (!(slot >= 0 && slot < this.#size)) assert.fail(`no transfer in slot ${slot}`);
    const block = this.#blocks[slot >>> blockBits] as Block;
    const index = slot & blockMask;
    const flags = block.flags[index] as number;
    const pendingRef = block.pendingRef[index] as number;
    const timeoutAt = block.timeoutAt[index] as number;
    return {
      id: this.#idAt(slot),
      kind: kinds[block.kind[index] as number] as TransferKind,
      debitAccountId: this.#accountIds[block.debit[index] as number] as string,
      creditAccountId: this.#accountIds[block.credit[index] as number] as string,
      amount: block.amount[index] as bigint,
      ledger: block.ledger[index] as number,
      code: block.code[index] as number,
      userData: (flags & hasUserData) === 0 ? undefined : this.#userData.get(slot),
      timeoutSeconds: block.timeoutSeconds[index] as number,
      timeoutAt: Number.isNaN(timeoutAt) ? undefined : timeoutAt,
      pendingStatus: pendingStatuses[block.status[index] as number],
      resolvedBy: (flags & hasResolvedBy) === 0 ? undefined : this.#resolvedBy.get(slot),
      pendingId: pendingRef === noRef ? undefined : pendingRef === refByText ? this.#pendingIdTexts.get(slot) : this.#idAt(pendingRef),
    };
  }

  /** Adds a record under a new id in the next slot; false (nothing written) if the id is taken. */
  append(transfer: Transfer): boolean {
    const slot = this.#size;
    checkFits(transfer);
    if (this.#index.insert(transfer.id, slot) !== undefined) return false;
    if ((slot & blockMask) === 0) this.#blocks.push(newBlock());
    this.#writeId(slot, transfer.id);
    this.#size += 1;
    this.#write(slot, transfer, true);
    return true;
  }

  /** Replaces the record in `slot` by `transfer`, which has the same id. */
  replace(slot: number, transfer: Transfer): void {
    if (!(slot >= 0 && slot < this.#size && this.#idEquals(slot, transfer.id))) assert.fail(`slot ${slot} does not hold transfer ${transfer.id}`);
    checkFits(transfer);
    this.#write(slot, transfer, false);
  }

  /** Records in slots [from, from + count), each as a fresh object. */
  *range(from: number, count: number): Generator<Transfer, void, undefined> {
    if (!(from >= 0 && count >= 0 && from + count <= this.#size)) assert.fail(`slots ${from}..${from + count} are not all taken`);
    for (let slot = from; slot < from + count; slot += 1) yield this.at(slot);
  }

  #idAt(slot: number): string {
    const block = this.#blocks[slot >>> blockBits] as Block;
    const index = slot & blockMask;
    const length = block.idLength[index] as number;
    if (length === 0) return this.#wideIds.get(slot) as string;
    const start = block.idStart[index] as number;
    return block.idBytes.toString('latin1', start, start + length);
  }

  /** Whether `slot` holds `key`, read from the arena without building a string. */
  #idEquals(slot: number, key: string): boolean {
    const block = this.#blocks[slot >>> blockBits] as Block;
    const index = slot & blockMask;
    const length = block.idLength[index] as number;
    if (length === 0) return this.#wideIds.get(slot) === key;
    if (length !== key.length) return false;
    const bytes = block.idBytes;
    const start = block.idStart[index] as number;
    for (let at = 0; at < length; at += 1) if (bytes[start + at] !== key.charCodeAt(at)) return false;
    return true;
  }

  #writeId(slot: number, id: string): void {
    const block = this.#blocks[slot >>> blockBits] as Block;
    const index = slot & blockMask;
    let wide = id.length === 0 || id.length > idLengthMax;
    for (let at = 0; !wide && at < id.length; at += 1) wide = id.charCodeAt(at) > 0xff;
    if (wide) {
      block.idLength[index] = 0;
      this.#wideIds.set(slot, id);
      return;
    }
    if (block.idUsed + id.length > block.idBytes.length) {
      // Grows within the block only: what earlier blocks hold never moves.
      const grown = Buffer.allocUnsafe(Math.max(block.idBytes.length * 2, block.idUsed + id.length));
      block.idBytes.copy(grown, 0, 0, block.idUsed);
      block.idBytes = grown;
    }
    block.idBytes.write(id, block.idUsed, 'latin1');
    block.idStart[index] = block.idUsed;
    block.idLength[index] = id.length;
    block.idUsed += id.length;
  }

  /** `fresh`: the slot was never written, so the sparse maps hold nothing for it yet. */
  #write(slot: number, transfer: Transfer, fresh: boolean): void {
    const block = this.#blocks[slot >>> blockBits] as Block;
    const index = slot & blockMask;
    block.kind[index] = kindNumber(transfer.kind);
    block.status[index] = pendingStatusNumber(transfer.pendingStatus);
    block.debit[index] = this.#accountNumber(transfer.debitAccountId);
    block.credit[index] = this.#accountNumber(transfer.creditAccountId);
    block.amount[index] = transfer.amount;
    block.ledger[index] = transfer.ledger;
    block.code[index] = transfer.code;
    block.timeoutSeconds[index] = transfer.timeoutSeconds;
    block.timeoutAt[index] = transfer.timeoutAt ?? Number.NaN;
    let flags = 0;
    if (transfer.userData !== undefined) {
      flags |= hasUserData;
      this.#userData.set(slot, transfer.userData);
    } else if (!fresh) this.#userData.delete(slot);
    if (transfer.resolvedBy !== undefined) {
      flags |= hasResolvedBy;
      this.#resolvedBy.set(slot, transfer.resolvedBy);
    } else if (!fresh) this.#resolvedBy.delete(slot);
    block.flags[index] = flags;
    if (!fresh) this.#pendingIdTexts.delete(slot);
    if (transfer.pendingId === undefined) block.pendingRef[index] = noRef;
    else {
      const pendingSlot = this.#index.get(transfer.pendingId);
      if (pendingSlot === undefined) {
        block.pendingRef[index] = refByText;
        this.#pendingIdTexts.set(slot, transfer.pendingId);
      } else {
        block.pendingRef[index] = pendingSlot;
      }
    }
  }

  #accountNumber(id: string): number {
    let number = this.#accountNumbers.get(id);
    if (number === undefined) {
      number = this.#accountIds.length;
      this.#accountIds.push(id);
      this.#accountNumbers.set(id, number);
    }
    return number;
  }
}

/** Slots per block: the columns grow a block at a time, never by copying what they hold. */
const blockBits = 16;
const blockSlots = 1 << blockBits;
const blockMask = blockSlots - 1;

const noRef = -1;
const refByText = -2;
const hasUserData = 1;
const hasResolvedBy = 2;

/** Longer ids go to the sparse map (the ledger's ids are at most 64 characters). */
const idLengthMax = 255;
/** Bytes of id arena a block starts with (it doubles as needed). */
const idBytesInitial = blockSlots * 16;

interface Block {
  /** Each slot's id: `idLength` bytes at `idStart` in `idBytes` (one byte per character); length 0 = in `#wideIds`. */
  idBytes: Buffer;
  idUsed: number;
  readonly idStart: Uint32Array;
  readonly idLength: Uint8Array;
  readonly kind: Uint8Array;
  readonly status: Uint8Array;
  readonly flags: Uint8Array;
  readonly debit: Uint32Array;
  readonly credit: Uint32Array;
  readonly amount: BigUint64Array;
  readonly ledger: Uint32Array;
  readonly code: Uint32Array;
  readonly timeoutSeconds: Uint32Array;
  /** NaN = undefined. */
  readonly timeoutAt: Float64Array;
  /** Slot of the pending transfer of a post/void; noRef or refByText otherwise. */
  readonly pendingRef: Int32Array;
}

function newBlock(): Block {
  return {
    idBytes: Buffer.allocUnsafe(idBytesInitial),
    idUsed: 0,
    idStart: new Uint32Array(blockSlots),
    idLength: new Uint8Array(blockSlots),
    kind: new Uint8Array(blockSlots),
    status: new Uint8Array(blockSlots),
    flags: new Uint8Array(blockSlots),
    debit: new Uint32Array(blockSlots),
    credit: new Uint32Array(blockSlots),
    amount: new BigUint64Array(blockSlots),
    ledger: new Uint32Array(blockSlots),
    code: new Uint32Array(blockSlots),
    timeoutSeconds: new Uint32Array(blockSlots),
    timeoutAt: new Float64Array(blockSlots),
    pendingRef: new Int32Array(blockSlots),
  };
}

const u32Max = 2 ** 32 - 1;

const u64Limit = 1n << 64n;

function fitsU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= u32Max;
}

/** The record's values fit the columns (checked before anything is written). */
function checkFits(transfer: Transfer): void {
  if (!(transfer.amount >= 0n && transfer.amount < u64Limit)) assert.fail(`transfer ${transfer.id}: amount ${transfer.amount} does not fit 64 bits`);
  if (!(fitsU32(transfer.ledger) && fitsU32(transfer.code) && fitsU32(transfer.timeoutSeconds))) assert.fail(`transfer ${transfer.id}: ledger, code or timeoutSeconds outside 0..2^32-1`);
  if (!(transfer.timeoutAt === undefined || Number.isFinite(transfer.timeoutAt))) assert.fail(`transfer ${transfer.id}: timeoutAt must be a number`);
}

const kinds: readonly TransferKind[] = ['single_phase', 'pending', 'post_pending', 'void_pending'];
/** Index 0 = undefined (not a pending transfer). */
const pendingStatuses: readonly (PendingStatus | undefined)[] = [undefined, 'pending', 'posted', 'voided', 'expired'];

// Derived from the arrays above, so each stays the other's inverse; a map lookup, not indexOf:
// these run for every transfer written.
const kindNumbers = new Map(kinds.map((kind, number) => [kind, number]));
const pendingStatusNumbers = new Map(pendingStatuses.map((status, number) => [status, number]));

function kindNumber(kind: TransferKind): number {
  return kindNumbers.get(kind) ?? assert.fail(`unknown transfer kind ${String(kind)}`);
}

function pendingStatusNumber(status: PendingStatus | undefined): number {
  return pendingStatusNumbers.get(status) ?? assert.fail(`unknown pending status ${String(status)}`);
}
