import type { AccountInput } from './account.ts';
import type { LedgerCommand } from './commands.ts';
import {
  amountMax,
  batchItemsMax,
  codeMax,
  idPattern,
  ledgerMax,
  timeoutSecondsMax,
  userDataLengthMax,
} from './limits.ts';
import type { TransferInput } from './transfer.ts';

/**
 * A whole command refused before any item is looked at. The HTTP layer validates shapes first,
 * so in production this is a second line of defence; the codes are stable all the same.
 *
 * | code             | meaning                                                      |
 * |------------------|--------------------------------------------------------------|
 * | `batch_empty`    | no accounts / transfers                                      |
 * | `batch_too_large`| more than `batchItemsMax` (8190) items                        |
 * | `invalid_field`  | a field has the wrong shape; `index` and `field` name it     |
 */
export const commandRejectionCodes = ['batch_empty', 'batch_too_large', 'invalid_field'] as const;
export type CommandRejectionCode = (typeof commandRejectionCodes)[number];

export interface CommandRejection {
  readonly code: CommandRejectionCode;
  /** Index of the offending item, when one item is at fault. */
  readonly index: number | undefined;
  /** Name of the offending field (`metadata.now`, `amount`, …). */
  readonly field: string | undefined;
  readonly message: string;
}

/** Returns why `command` is malformed, or undefined when its shape is acceptable. */
export function findCommandRejection(command: LedgerCommand): CommandRejection | undefined {
  if (!isTimestamp(command.metadata.now)) return invalid(undefined, 'metadata.now', 'must be a non-negative safe integer of ms');
  switch (command.type) {
    case 'CreateAccounts':
      return findBatchRejection(command.data.accounts, accountFieldRejection);
    case 'CreateTransfers':
      return findBatchRejection(command.data.transfers, transferFieldRejection);
    case 'ExpirePendingTransfers':
      return isTimestamp(command.data.now) ? undefined : invalid(undefined, 'now', 'must be a non-negative safe integer of ms');
    default: {
      const _exhaustive: never = command;
      return invalid(undefined, 'type', `unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
}

type FieldRejection = readonly [field: string, message: string] | undefined;

function findBatchRejection<Item>(items: readonly Item[], check: (item: Item) => FieldRejection): CommandRejection | undefined {
  if (items.length === 0) return { code: 'batch_empty', index: undefined, field: undefined, message: 'the batch has no items' };
  if (items.length > batchItemsMax) {
    return { code: 'batch_too_large', index: undefined, field: undefined, message: `${items.length} items; at most ${batchItemsMax}` };
  }
  for (let index = 0; index < items.length; index += 1) {
    const rejection = check(items[index] as Item);
    if (rejection !== undefined) return invalid(index, rejection[0], rejection[1]);
  }
  return undefined;
}

function accountFieldRejection(account: AccountInput): FieldRejection {
  if (!isId(account.id)) return ['id', 'must be 1-64 characters of [A-Za-z0-9._:-]'];
  if (!isBoundedInteger(account.ledger, 1, ledgerMax)) return ['ledger', `must be an integer in 1..${ledgerMax}`];
  if (!isBoundedInteger(account.code, 0, codeMax)) return ['code', `must be an integer in 0..${codeMax}`];
  if (!isOptionalUserData(account.userData)) return ['userData', `must be a string of at most ${userDataLengthMax} characters`];
  const flags = account.flags;
  if (flags !== undefined) {
    if (!isOptionalBoolean(flags.debitsMustNotExceedCredits)) return ['flags.debitsMustNotExceedCredits', 'must be a boolean'];
    if (!isOptionalBoolean(flags.creditsMustNotExceedDebits)) return ['flags.creditsMustNotExceedDebits', 'must be a boolean'];
  }
  return undefined;
}

function transferFieldRejection(transfer: TransferInput): FieldRejection {
  if (!isId(transfer.id)) return ['id', 'must be 1-64 characters of [A-Za-z0-9._:-]'];
  if (transfer.debitAccountId !== undefined && !isId(transfer.debitAccountId)) return ['debitAccountId', 'must be an id'];
  if (transfer.creditAccountId !== undefined && !isId(transfer.creditAccountId)) return ['creditAccountId', 'must be an id'];
  if (transfer.postPendingId !== undefined && !isId(transfer.postPendingId)) return ['postPendingId', 'must be an id'];
  if (transfer.voidPendingId !== undefined && !isId(transfer.voidPendingId)) return ['voidPendingId', 'must be an id'];
  const amount = transfer.amount;
  if (amount !== undefined && (typeof amount !== 'bigint' || amount < 1n || amount > amountMax)) {
    return ['amount', 'must be a bigint in 1..2^63-1'];
  }
  if (transfer.ledger !== undefined && !isBoundedInteger(transfer.ledger, 1, ledgerMax)) return ['ledger', `must be an integer in 1..${ledgerMax}`];
  if (transfer.code !== undefined && !isBoundedInteger(transfer.code, 0, codeMax)) return ['code', `must be an integer in 0..${codeMax}`];
  if (!isOptionalUserData(transfer.userData)) return ['userData', `must be a string of at most ${userDataLengthMax} characters`];
  if (!isOptionalBoolean(transfer.pending)) return ['pending', 'must be a boolean'];
  if (!isOptionalBoolean(transfer.linked)) return ['linked', 'must be a boolean'];
  if (transfer.timeoutSeconds !== undefined && !isBoundedInteger(transfer.timeoutSeconds, 0, timeoutSecondsMax)) {
    return ['timeoutSeconds', `must be an integer in 0..${timeoutSecondsMax}`];
  }
  return undefined;
}

function invalid(index: number | undefined, field: string, message: string): CommandRejection {
  return { code: 'invalid_field', index, field, message };
}

function isId(value: unknown): boolean {
  return typeof value === 'string' && idPattern.test(value);
}

function isTimestamp(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isBoundedInteger(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function isOptionalBoolean(value: unknown): boolean {
  return value === undefined || typeof value === 'boolean';
}

function isOptionalUserData(value: unknown): boolean {
  return value === undefined || (typeof value === 'string' && value.length <= userDataLengthMax);
}
