/** The ledger Decider: the pure domain core of the writer (DESIGN.md §3). */
export type { Account, AccountFlags, AccountInput } from './account.ts';
export { accountBalance } from './account.ts';
export type { Transfer, TransferInput, TransferKind, PendingStatus } from './transfer.ts';
export type { CommandMetadata, CreateAccounts, CreateTransfers, ExpirePendingTransfers, LedgerCommand } from './commands.ts';
export type {
  AccountCreated,
  LedgerEvent,
  LedgerEventType,
  PendingResolutionData,
  PendingTransferExpired,
  PendingTransferPosted,
  PendingTransferVoided,
  TransferCreated,
} from './events.ts';
export { ledgerEventTypes } from './events.ts';
export type { ItemResult, ItemStatus, LedgerErrorCode } from './error-codes.ts';
export { isLedgerErrorCode, ledgerErrorCodes } from './error-codes.ts';
export type { CommandRejection, CommandRejectionCode } from './command-rejection.ts';
export { commandRejectionCodes } from './command-rejection.ts';
export * from './limits.ts';
export type { LedgerState, SnapshotView } from './ledger-state.ts';
export { CommittedLedgerState, initialState } from './ledger-state.ts';
export { SpeculativeLedgerState, createSpeculativeState, fork } from './speculative-state.ts';
export type { DecideOutcome } from './decide.ts';
export { decide, decideAndEvolve } from './decide.ts';
export { evolve } from './evolve.ts';
export type { ExpiryEntry } from './expiry-heap.ts';
export { dueExpiries, nextExpiryDue } from './expiry-query.ts';
export type { EncodedLedgerEvent, JsonValue } from './event-codec.ts';
export { decodeEvent, encodeEvent, EventDecodeError } from './event-codec.ts';
export { decodeSnapshot, encodeSnapshot, SnapshotDecodeError, snapshotVersion } from './snapshot.ts';
export { decodeBinarySnapshot, encodeBinarySnapshot, isBinarySnapshot, SnapshotEncoder } from './snapshot-encoder.ts';
export { stateDigest } from './state-digest.ts';
export type { Violation, ViolationCode } from './invariants.ts';
export { checkInvariants, violationCodes } from './invariants.ts';
