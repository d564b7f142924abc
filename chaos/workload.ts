/**
 * The chaos run's clients, talking only to the public APIs (writer client API, query API):
 *
 * - writers: random single-phase transfers, pending transfers, posts and voids of earlier
 *   pendings, and linked chains (some through an account whose debits may not exceed its
 *   credits, so some chains fail as a whole). A request is retried with the SAME ids against any
 *   node until it gets a definite answer or its deadline passes (then its items are "unknown").
 * - linearizability clients: single transfers between a few dedicated accounts and `strong` reads
 *   of them, recorded as a history for common/linearizability (ledger-balances model). A read that
 *   got no answer (503/504) is left out: a read changes nothing.
 * - read-your-writes clients: a transfer, then reads with its position as `minSeq`; a 200 that
 *   does not reflect the write is a violation (504/503 are allowed and counted).
 *
 * Every acknowledgement time is kept, so the unavailability after a fault is the time to the next
 * acknowledged write.
 */
import type { Operation } from '../common/linearizability/checker.ts';
import type { LedgerInput, LedgerOutput } from '../common/linearizability/models/ledger-balances.ts';
import type { Logger } from '../common/logger.ts';
import { Prng } from '../writer/raft/sim/prng.ts';
import { sleep } from './chaos-platform.ts';

export const ledgerId = 1;
export const limitedAccountId = 'acct-limited';
/** How long one logical write keeps retrying before its outcome is declared unknown. */
export const writeDeadlineMs = 30_000;
const requestTimeoutMs = 5_000;
const retryPauseMs = 100;

export interface WorkloadSettings {
  readonly seed: number;
  readonly writerClients: number;
  readonly linearizabilityClients: number;
  readonly readYourWritesClients: number;
  readonly accounts: number;
  readonly linearizabilityAccounts: number;
  /** Pause between one client's operations (keeps the linearizability history checkable). */
  readonly thinkMs: number;
}

export const workloadSettingsDefault: WorkloadSettings = {
  seed: 1, writerClients: 4, linearizabilityClients: 3, readYourWritesClients: 2, accounts: 40, linearizabilityAccounts: 3, thinkMs: 20,
};

export type TransferRequest = Record<string, unknown> & { id: string };

export interface WriteRecord {
  /** Items of one request, in order; a linked chain is one request. */
  readonly items: readonly TransferRequest[];
  readonly chain: boolean;
  /** Final per-item status when the request got a definite answer; undefined when unknown. */
  statuses: string[] | undefined;
  position: number | undefined;
  attempts: number;
}

export interface ReadYourWritesStats {
  checks: number;
  reflected: number;
  timeouts: number;
  violations: string[];
}

export interface Endpoints {
  writerUrls(): string[];
  queryUrl(): string;
}

export class Workload {
  readonly writes: WriteRecord[] = [];
  /** Every acknowledged write: when the attempt that got the answer was sent, and when the answer came (epoch ms). */
  readonly acknowledgements: { readonly sentAtMs: number; readonly answeredAtMs: number }[] = [];
  readonly linearizabilityHistory: Operation<LedgerInput, LedgerOutput>[] = [];
  readonly readYourWrites: ReadYourWritesStats = { checks: 0, reflected: 0, timeouts: 0, violations: [] };
  readonly strongReads = { answered: 0, unavailable: 0 };
  /** Requests a server refused as malformed: a workload bug or a contract break, never expected. */
  readonly contractErrors: string[] = [];
  readonly #settings: WorkloadSettings;
  readonly #endpoints: Endpoints;
  readonly #log: Logger;
  readonly #random: Prng;
  readonly #pendingOpen: string[] = [];
  #nextId = 0;
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(settings: WorkloadSettings, endpoints: Endpoints, log: Logger) {
    this.#settings = settings;
    this.#endpoints = endpoints;
    this.#log = log;
    this.#random = new Prng(settings.seed);
  }

  accountIds(): string[] {
    return Array.from({ length: this.#settings.accounts }, (_, index) => `acct-${index}`);
  }

  linearizabilityAccountIds(): string[] {
    return Array.from({ length: this.#settings.linearizabilityAccounts }, (_, index) => `lin-${index}`);
  }

  /** Creates every account the workload uses, before the history starts (the model assumes it). */
  async createAccounts(): Promise<void> {
    const accounts = [
      ...[...this.accountIds(), ...this.linearizabilityAccountIds()].map((id) => ({ id, ledger: ledgerId, code: 10 })),
      { id: limitedAccountId, ledger: ledgerId, code: 10, flags: { debitsMustNotExceedCredits: true } },
    ];
    const deadline = Date.now() + 60_000;
    while (true) {
      const answer = await this.#post('/v1/accounts', { accounts });
      if (answer.kind === 'answer' && answer.status === 200) {
        const statuses = (answer.body as { results: { status: string }[] }).results.map((result) => result.status);
        if (statuses.some((status) => status !== 'created' && status !== 'exists')) throw new Error(`creating accounts failed: ${statuses.join(', ')}`);
        return;
      }
      if (Date.now() > deadline) throw new Error(`could not create the workload's accounts: ${JSON.stringify(answer)}`);
      await sleep(200);
    }
  }

  start(): void {
    this.#running = true;
    const { writerClients, linearizabilityClients, readYourWritesClients } = this.#settings;
    for (let client = 0; client < writerClients; client += 1) this.#loops.push(this.#writerLoop(this.#random.fork()));
    for (let client = 0; client < linearizabilityClients; client += 1) this.#loops.push(this.#linearizabilityLoop(client, this.#random.fork()));
    for (let client = 0; client < readYourWritesClients; client += 1) this.#loops.push(this.#readYourWritesLoop(this.#random.fork()));
  }

  /** Stops issuing new operations and waits for those in flight (each bounded by its deadline). */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /**
   * Time from `atMs` (epoch ms) to the first acknowledgement of a write SENT at or after it;
   * undefined if none. Answers to requests sent earlier do not count: a follower may relay, after
   * the leader died, an answer the leader gave before.
   */
  firstAcknowledgementAfter(atMs: number): number | undefined {
    let best: number | undefined;
    for (const { sentAtMs, answeredAtMs } of this.acknowledgements) {
      if (sentAtMs >= atMs && (best === undefined || answeredAtMs < best)) best = answeredAtMs;
    }
    return best === undefined ? undefined : best - atMs;
  }

  #id(prefix: string): string {
    this.#nextId += 1;
    return `${prefix}-${this.#settings.seed}-${this.#nextId}`;
  }

  async #writerLoop(random: Prng): Promise<void> {
    const accounts = this.accountIds();
    while (this.#running) {
      const draw = random.float();
      let items: TransferRequest[];
      let chain = false;
      if (draw < 0.5) {
        items = [this.#single(random, accounts)];
      } else if (draw < 0.65) {
        items = [{ ...this.#single(random, accounts), pending: true, timeoutSeconds: 3_600 }];
      } else if (draw < 0.8 && this.#pendingOpen.length > 0) {
        const pendingId = this.#pendingOpen.splice(random.below(this.#pendingOpen.length), 1)[0]!;
        items = [random.chance(0.7)
          ? { id: this.#id('post'), postPendingId: pendingId, ...(random.chance(0.5) ? { amount: '1' } : {}) }
          : { id: this.#id('void'), voidPendingId: pendingId }];
      } else {
        chain = true;
        const length = random.between(2, 3);
        items = Array.from({ length }, (_, index) => {
          const item = this.#single(random, accounts);
          // Sometimes through the limited account, which has no credits: the whole chain must fail.
          if (index === length - 1 && random.chance(0.3)) item.debitAccountId = limitedAccountId;
          return index < length - 1 ? { ...item, linked: true } : item;
        });
      }
      const record = await this.#write(items, chain);
      if (record.statuses !== undefined) {
        items.forEach((item, index) => {
          if (item.pending === true && record.statuses![index] === 'created') this.#pendingOpen.push(item.id);
        });
      }
      await sleep(this.#settings.thinkMs);
    }
  }

  #single(random: Prng, accounts: readonly string[]): TransferRequest & { debitAccountId: string } {
    const debit = random.pick(accounts);
    let credit = random.pick(accounts);
    while (credit === debit) credit = random.pick(accounts);
    return { id: this.#id('t'), debitAccountId: debit, creditAccountId: credit, amount: String(random.between(1, 10_000)), ledger: ledgerId, code: 1 };
  }

  /** One logical write, retried with the same ids until a definite answer or the deadline. */
  async #write(items: TransferRequest[], chain: boolean): Promise<WriteRecord> {
    const record: WriteRecord = { items, chain, statuses: undefined, position: undefined, attempts: 0 };
    this.writes.push(record);
    const deadline = Date.now() + writeDeadlineMs;
    while (Date.now() < deadline) {
      record.attempts += 1;
      const sentAtMs = Date.now();
      const answer = await this.#post('/v1/transfers', { transfers: items });
      if (answer.kind === 'answer' && answer.status === 200) {
        const body = answer.body as { results: { status: string }[]; position: { seq: number } };
        record.statuses = body.results.map((result) => result.status);
        record.position = body.position.seq;
        this.acknowledgements.push({ sentAtMs, answeredAtMs: Date.now() });
        return record;
      }
      if (answer.kind === 'answer' && answer.status >= 400 && answer.status < 500 && answer.status !== 429) {
        this.contractErrors.push(`POST /v1/transfers answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
        return record;
      }
      await sleep(retryPauseMs);
    }
    return record;
  }

  async #linearizabilityLoop(clientId: number, random: Prng): Promise<void> {
    const accounts = this.linearizabilityAccountIds();
    while (this.#running) {
      if (random.chance(0.5)) {
        const debit = random.pick(accounts);
        let credit = random.pick(accounts);
        while (credit === debit) credit = random.pick(accounts);
        const amount = BigInt(random.between(1, 100));
        const id = this.#id('lin');
        const call = performance.now();
        const record = await this.#write([{ id, debitAccountId: debit, creditAccountId: credit, amount: amount.toString(), ledger: ledgerId, code: 1 }], false);
        const statuses = record.statuses;
        this.linearizabilityHistory.push({
          clientId, input: { op: 'transfer', id, debitAccountId: debit, creditAccountId: credit, amount },
          output: statuses === undefined ? undefined : { status: statuses[0]! }, call, return: statuses === undefined ? Infinity : performance.now(),
        });
      } else {
        const accountId = random.pick(accounts);
        const call = performance.now();
        const answer = await this.#get(`/v1/accounts/${accountId}?consistency=strong&timeoutMs=3000`);
        const returned = performance.now();
        if (answer.kind === 'answer' && answer.status === 200) {
          const body = answer.body as { debitsPosted: string; creditsPosted: string };
          this.strongReads.answered += 1;
          this.linearizabilityHistory.push({
            clientId, input: { op: 'read', accountId }, output: { debitsPosted: BigInt(body.debitsPosted), creditsPosted: BigInt(body.creditsPosted) }, call, return: returned,
          });
        } else if (answer.kind === 'answer' && answer.status === 404) {
          this.linearizabilityHistory.push({ clientId, input: { op: 'read', accountId }, output: { notFound: true }, call, return: returned });
        } else if (answer.kind === 'answer' && answer.status === 400) {
          this.contractErrors.push(`strong read answered 400: ${JSON.stringify(answer.body).slice(0, 300)}`);
          await sleep(500);
        } else {
          this.strongReads.unavailable += 1;
        }
      }
      await sleep(this.#settings.thinkMs);
    }
  }

  async #readYourWritesLoop(random: Prng): Promise<void> {
    const accounts = this.accountIds();
    while (this.#running) {
      const item = this.#single(random, accounts);
      const record = await this.#write([item], false);
      if (record.statuses?.[0] === 'created' || record.statuses?.[0] === 'exists') {
        const minSeq = record.position!;
        this.readYourWrites.checks += 1;
        const transfer = await this.#get(`/v1/transfers/${item.id}?minSeq=${minSeq}&timeoutMs=3000`);
        const account = await this.#get(`/v1/accounts/${item.debitAccountId}?minSeq=${minSeq}&timeoutMs=3000`);
        let reflected = true;
        for (const [what, answer] of [['transfer', transfer], ['account', account]] as const) {
          if (answer.kind === 'answer' && answer.status === 200) {
            const asOf = (answer.body as { asOf?: { seq?: number } }).asOf?.seq;
            if (asOf === undefined || asOf < minSeq) this.readYourWrites.violations.push(`${what} read for ${item.id} with minSeq ${minSeq} answered 200 as of seq ${asOf}`);
          } else if (answer.kind === 'answer' && answer.status === 404) {
            this.readYourWrites.violations.push(`${what} read for ${item.id} with minSeq ${minSeq} answered 404: the write is not reflected`);
          } else if (answer.kind === 'answer' && answer.status === 400) {
            this.contractErrors.push(`read with minSeq answered 400: ${JSON.stringify(answer.body).slice(0, 300)}`);
            reflected = false;
          } else {
            reflected = false;
            this.readYourWrites.timeouts += 1;
          }
        }
        if (reflected) this.readYourWrites.reflected += 1;
      }
      await sleep(this.#settings.thinkMs);
    }
  }

  async #post(route: string, body: unknown): Promise<Answer> {
    const urls = this.#endpoints.writerUrls();
    const url = urls[this.#random.below(urls.length)]!;
    return await request(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  async #get(route: string): Promise<Answer> {
    return await request(`${this.#endpoints.queryUrl()}${route}`, { method: 'GET' });
  }

  /** Logs a one-line progress summary (the CLI calls it every few seconds). */
  logProgress(): void {
    const acknowledged = this.writes.filter((write) => write.statuses !== undefined).length;
    this.#log.info({
      writes: this.writes.length, acknowledged, unknown: this.writes.length - acknowledged, strongReads: this.strongReads,
      readYourWrites: { checks: this.readYourWrites.checks, timeouts: this.readYourWrites.timeouts, violations: this.readYourWrites.violations.length },
    }, 'chaos: workload progress');
  }
}

export type Answer = { kind: 'answer'; status: number; body: unknown } | { kind: 'no_answer'; reason: string };

async function request(url: string, init: RequestInit): Promise<Answer> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(requestTimeoutMs) });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the report
    }
    return { kind: 'answer', status: response.status, body };
  } catch (error) {
    return { kind: 'no_answer', reason: (error as Error).message };
  }
}
