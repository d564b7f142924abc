/**
 * Test support: concurrent ledger clients (writers sending single transfers, readers reading
 * posted counters) whose every operation is recorded for the linearizability checker with the
 * ledger-balances model (common/linearizability/models/ledger-balances.ts). The service is a seam:
 * the e2e test plugs in the real writer cluster and query API, the unit test an in-memory ledger
 * whose reads lag on purpose, to show the checker catches stale reads recorded this way.
 */
import { checkLinearizability, type CheckResult, type Operation } from '../../common/linearizability/checker.ts';
import { HistoryRecorder } from '../../common/linearizability/history-recorder.ts';
import { ledgerBalancesModel, type LedgerInput, type LedgerOutput } from '../../common/linearizability/models/ledger-balances.ts';
import { mulberry32 } from '../../projector/test/ledger-history.ts';

export interface TransferRequest {
  readonly id: string;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: bigint;
}

export interface LedgerService {
  /** Resolves with the item's status; throws when the outcome is unknown. */
  transfer(request: TransferRequest): Promise<string>;
  /** Resolves with the posted counters; throws when the read failed (no answer is recorded as unknown). */
  read(accountId: string): Promise<{ debitsPosted: bigint; creditsPosted: bigint } | { notFound: true }>;
}

export interface ClientRunOptions {
  readonly service: LedgerService;
  readonly accounts: readonly string[];
  readonly writers: number;
  readonly readers: number;
  readonly durationMs: number;
  /** Operations per client at most (keeps the history small enough to check quickly). */
  readonly operationsPerClientMax: number;
  readonly seed: number;
  readonly clock?: () => number;
}

export type LedgerOperation = Operation<LedgerInput, LedgerOutput>;

export async function runRecordedClients(options: ClientRunOptions): Promise<LedgerOperation[]> {
  const recorder = new HistoryRecorder<LedgerInput, LedgerOutput>(options.clock);
  const random = mulberry32(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const deadline = performance.now() + options.durationMs;
  const writer = async (clientId: number) => {
    for (let count = 0; count < options.operationsPerClientMax && performance.now() < deadline; count += 1) {
      const debitAccountId = pick(options.accounts);
      const creditAccountId = pick(options.accounts.filter((account) => account !== debitAccountId));
      const request = { id: `h-${options.seed}-${clientId}-${count}`, debitAccountId, creditAccountId, amount: BigInt(1 + Math.floor(random() * 100)) };
      const operation = recorder.invoke(clientId, { op: 'transfer', ...request });
      try {
        recorder.complete(operation, { status: await options.service.transfer(request) });
      } catch {
        recorder.unknown(operation);
      }
    }
  };
  const reader = async (clientId: number) => {
    for (let count = 0; count < options.operationsPerClientMax && performance.now() < deadline; count += 1) {
      const accountId = pick(options.accounts);
      const operation = recorder.invoke(clientId, { op: 'read', accountId });
      try {
        recorder.complete(operation, await options.service.read(accountId));
      } catch {
        recorder.unknown(operation); // a read without an answer constrains nothing
      }
    }
  };
  await Promise.all([
    ...Array.from({ length: options.writers }, (_, index) => writer(index)),
    ...Array.from({ length: options.readers }, (_, index) => reader(options.writers + index)),
  ]);
  return recorder.history();
}

export function checkLedgerHistory(history: LedgerOperation[], timeoutMs = 60_000): CheckResult {
  return checkLinearizability(ledgerBalancesModel, history, { timeoutMs });
}
