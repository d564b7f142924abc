/**
 * Waits for the live projection's checkpoint of a shard to reach a seq, for every consistent read
 * of the process, over ONE dedicated Postgres connection that LISTENs on `ledger_checkpoint`
 * (payload `{"projection","shard","seq"}`, sent by the projector in the transaction that moves
 * the checkpoint, so it is delivered after the rows are visible).
 *
 * - Known checkpoints per shard are kept in memory; waiters are kept per shard, ordered by seq,
 *   and released when a notification (or a re-read) reaches their seq. At most `waitersMax` wait
 *   at once; one more is refused (`overloaded`), never queued without bound.
 * - After LISTEN is established — at start and after every reconnect — `ledger.checkpoints` and
 *   the live version are re-read, so a notification sent while no LISTEN was active is never
 *   missed. A notification of another version than the live one (a rebuild's shadow schema, or a
 *   switch we have not seen yet) triggers the same re-read instead of being trusted.
 * - A lost connection is re-established with exponential backoff
 *   (`reconnectBackoffMsMin`..`reconnectBackoffMsMax`), logged and counted; waiters keep waiting
 *   (bounded by their own deadlines) and are released by the re-read after reconnecting.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import type { Logger } from '../common/logger.ts';
import { checkpointChannel } from '../projector/read-model-database.ts';
import type { QueryMetrics, WaitOutcome } from './metrics.ts';

export interface CheckpointWaiterOptions {
  readonly databaseUrl: string;
  readonly log: Logger;
  readonly metrics: QueryMetrics;
  readonly waitersMax?: number;
  readonly connectTimeoutMs?: number;
  readonly reconnectBackoffMsMin?: number;
  readonly reconnectBackoffMsMax?: number;
}

export const waitersMaxDefault = 10_000;
export const reconnectBackoffMsMinDefault = 100;
export const reconnectBackoffMsMaxDefault = 5_000;
export const listenApplicationName = 'query-api-listen';

interface Waiter {
  readonly seq: number;
  readonly started: number;
  readonly resolve: (outcome: WaitOutcome) => void;
  timer: NodeJS.Timeout | undefined;
}

interface CheckpointNotice {
  readonly projection: string;
  readonly shard: number;
  readonly seq: number;
}

function parseNotice(payload: string | undefined): CheckpointNotice | undefined {
  if (payload === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { projection, shard, seq } = value as Record<string, unknown>;
  if (typeof projection !== 'string' || !Number.isSafeInteger(shard) || !Number.isSafeInteger(seq)) return undefined;
  if ((shard as number) < 0 || (seq as number) < 0) return undefined;
  return { projection, shard: shard as number, seq: seq as number };
}

export class CheckpointWaiter {
  readonly #options: Required<Omit<CheckpointWaiterOptions, 'log' | 'metrics'>>;
  readonly #log: Logger;
  readonly #metrics: QueryMetrics;
  readonly #checkpoints = new Map<number, { seq: number; heardAt: number }>();
  /** Per shard, ascending by seq. */
  readonly #waiters = new Map<number, Waiter[]>();
  #waiterCount = 0;
  #liveVersion: string | undefined;
  #client: pg.Client | undefined;
  #connected = false;
  #stopped = false;
  #everConnected = false;
  #started = false;
  #backoffMs: number;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #refreshAgain = false;

  constructor(options: CheckpointWaiterOptions) {
    this.#options = {
      databaseUrl: options.databaseUrl,
      waitersMax: options.waitersMax ?? waitersMaxDefault,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      reconnectBackoffMsMin: options.reconnectBackoffMsMin ?? reconnectBackoffMsMinDefault,
      reconnectBackoffMsMax: options.reconnectBackoffMsMax ?? reconnectBackoffMsMaxDefault,
    };
    assert(this.#options.waitersMax >= 1, 'waitersMax must be positive');
    assert(this.#options.reconnectBackoffMsMin >= 1 && this.#options.reconnectBackoffMsMin <= this.#options.reconnectBackoffMsMax, 'reconnect backoff bounds');
    this.#log = options.log.child({ part: 'checkpoint-waiter' });
    this.#metrics = options.metrics;
    this.#backoffMs = this.#options.reconnectBackoffMsMin;
    this.#metrics.listenConnected.set(0);
  }

  /**
   * Connects, LISTENs and reads the checkpoints. When that fails (Postgres down, read models not
   * migrated yet by the projector) it logs, keeps retrying with backoff in the background and
   * returns `false`: eventual reads do not need it, consistent reads wait (bounded) meanwhile.
   */
  async start(): Promise<boolean> {
    assert(!this.#started && !this.#stopped, 'start() once');
    this.#started = true;
    try {
      await this.#connect();
      return true;
    } catch (error) {
      this.#log.warn({ err: error, retryInMs: this.#backoffMs }, 'cannot LISTEN for checkpoints yet; retrying in the background');
      this.#scheduleReconnect();
      return false;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    for (const [shard, waiters] of this.#waiters) {
      for (const waiter of waiters) this.#finish(waiter, 'stopped');
      this.#waiters.delete(shard);
    }
    const client = this.#client;
    this.#client = undefined;
    this.#setConnected(false);
    await client?.end().catch(() => undefined);
  }

  get connected(): boolean {
    return this.#connected;
  }

  get liveVersion(): string | undefined {
    return this.#liveVersion;
  }

  get waiting(): number {
    return this.#waiterCount;
  }

  /** The live checkpoint of `shard` as last heard (0 when the shard has none yet). */
  checkpoint(shard: number): number {
    return this.#checkpoints.get(shard)?.seq ?? 0;
  }

  checkpoints(): ReadonlyMap<number, number> {
    return new Map([...this.#checkpoints].map(([shard, { seq }]) => [shard, seq]));
  }

  /**
   * Resolves `immediate`/`reached` once the live checkpoint of `shard` is ≥ `seq`, `timeout` after
   * `timeoutMs`, `overloaded` at once when `waitersMax` reads already wait, `stopped` on stop().
   */
  waitFor(shard: number, seq: number, timeoutMs: number): Promise<WaitOutcome> {
    assert(Number.isSafeInteger(shard) && shard >= 0 && Number.isSafeInteger(seq) && seq >= 0, 'shard and seq are non-negative integers');
    if (this.checkpoint(shard) >= seq) {
      this.#metrics.checkpointWaits.inc({ outcome: 'immediate' });
      return Promise.resolve('immediate');
    }
    if (this.#stopped) return Promise.resolve('stopped');
    if (timeoutMs <= 0) {
      this.#metrics.checkpointWaits.inc({ outcome: 'timeout' });
      return Promise.resolve('timeout');
    }
    if (this.#waiterCount >= this.#options.waitersMax) {
      this.#metrics.checkpointWaits.inc({ outcome: 'overloaded' });
      return Promise.resolve('overloaded');
    }
    return new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = { seq, started: performance.now(), resolve, timer: undefined };
      const list = this.#waiters.get(shard) ?? [];
      list.splice(insertionIndex(list, seq), 0, waiter);
      this.#waiters.set(shard, list);
      this.#waiterCount += 1;
      this.#metrics.checkpointWaiters.set(this.#waiterCount);
      waiter.timer = setTimeout(() => {
        const at = list.indexOf(waiter);
        if (at >= 0) list.splice(at, 1);
        this.#finish(waiter, 'timeout');
      }, timeoutMs);
    });
  }

  /**
   * Re-reads the live version and its checkpoints (single flight: a call while one runs makes it
   * run once more afterwards, so the answer is never older than the call).
   */
  refresh(): Promise<void> {
    if (this.#refreshing !== undefined) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    const run = async (): Promise<void> => {
      do {
        this.#refreshAgain = false;
        await this.#readCheckpoints();
      } while (this.#refreshAgain && !this.#stopped);
    };
    this.#refreshing = run().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Seconds since the checkpoint of each shard last moved (as heard by this process). */
  heardAgeSeconds(now = performance.now()): Map<number, number> {
    return new Map([...this.#checkpoints].map(([shard, { heardAt }]) => [shard, (now - heardAt) / 1000]));
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#options.databaseUrl,
      connectionTimeoutMillis: this.#options.connectTimeoutMs,
      application_name: listenApplicationName,
      keepAlive: true,
    });
    client.on('notification', (message) => {
      if (message.channel === checkpointChannel) this.#onNotification(message.payload);
    });
    // Until LISTEN is established a failure is this attempt's to report (its caller retries).
    let established = false;
    client.on('error', (error) => {
      if (established) this.#onConnectionLost(client, error);
    });
    client.on('end', () => {
      if (established) this.#onConnectionLost(client, undefined);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${checkpointChannel}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    established = true;
    this.#client = client;
    this.#setConnected(true);
    // Re-read after LISTEN: anything committed before it is in the table, anything after is notified.
    try {
      await this.refresh();
    } catch (error) {
      if (this.#client === client) {
        this.#client = undefined;
        this.#setConnected(false);
      }
      await client.end().catch(() => undefined);
      throw error;
    }
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    this.#backoffMs = this.#options.reconnectBackoffMsMin;
    if (reconnected) {
      this.#metrics.listenReconnects.inc();
      this.#log.info({ liveVersion: this.#liveVersion, checkpoints: Object.fromEntries(this.checkpoints()) }, 'LISTEN ledger_checkpoint re-established; checkpoints re-read');
    } else {
      this.#log.info({ liveVersion: this.#liveVersion, checkpoints: Object.fromEntries(this.checkpoints()) }, 'listening for ledger_checkpoint');
    }
  }

  #onConnectionLost(client: pg.Client, error: Error | undefined): void {
    if (client !== this.#client) return; // an older connection, already replaced
    this.#client = undefined;
    this.#setConnected(false);
    void client.end().catch(() => undefined);
    if (this.#stopped) return;
    this.#log.warn({ err: error, waiting: this.#waiterCount, retryInMs: this.#backoffMs }, 'LISTEN connection lost; reconnecting');
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#reconnectTimer !== undefined) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#options.reconnectBackoffMsMax);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect().catch((error: unknown) => {
        if (this.#stopped) return;
        this.#log.warn({ err: error, retryInMs: this.#backoffMs }, 'LISTEN reconnect failed');
        this.#scheduleReconnect();
      });
    }, delay);
  }

  #setConnected(connected: boolean): void {
    this.#connected = connected;
    this.#metrics.listenConnected.set(connected ? 1 : 0);
  }

  #onNotification(payload: string | undefined): void {
    const notice = parseNotice(payload);
    if (notice === undefined) {
      this.#metrics.listenNotifications.inc({ kind: 'invalid' });
      this.#log.warn({ payload: payload?.slice(0, 200) }, 'ledger_checkpoint notification not understood; re-reading checkpoints');
      this.#refreshInBackground();
      return;
    }
    if (notice.projection !== this.#liveVersion) {
      // A rebuild's shadow version, or a switch not seen yet: ask the table which is live.
      this.#metrics.listenNotifications.inc({ kind: 'other_version' });
      this.#refreshInBackground();
      return;
    }
    this.#metrics.listenNotifications.inc({ kind: 'live' });
    this.#advance(notice.shard, notice.seq);
  }

  #refreshInBackground(): void {
    this.refresh().catch((error: unknown) => this.#log.warn({ err: error }, 're-reading checkpoints failed'));
  }

  async #readCheckpoints(): Promise<void> {
    const client = this.#client;
    if (client === undefined || !this.#connected) return; // re-read happens on reconnect
    const result = await client.query<{ version_schema: string; shard: number | null; seq: string | null }>(
      `SELECT v.version_schema, c.shard, c.seq FROM ledger.read_model_versions v
         LEFT JOIN ledger.projection_checkpoints c ON c.projection = v.version_schema
        WHERE v.status = 'live'`,
    );
    const live = result.rows[0]?.version_schema;
    assert(live !== undefined && result.rows.every((row) => row.version_schema === live), 'exactly one live read-model version');
    if (live !== this.#liveVersion) {
      // Another version's checkpoints are not comparable with what we heard: start over from its rows.
      if (this.#liveVersion !== undefined) this.#log.info({ from: this.#liveVersion, to: live }, 'live read-model version changed');
      this.#liveVersion = live;
      this.#checkpoints.clear();
    }
    for (const row of result.rows) {
      if (row.shard !== null && row.seq !== null) this.#advance(row.shard, Number(row.seq));
    }
  }

  #advance(shard: number, seq: number): void {
    const known = this.#checkpoints.get(shard);
    if (known !== undefined && known.seq >= seq) return;
    this.#checkpoints.set(shard, { seq, heardAt: performance.now() });
    this.#metrics.checkpointSeq.set({ shard: String(shard) }, seq);
    const list = this.#waiters.get(shard);
    if (list === undefined) return;
    let released = 0;
    while (released < list.length && list[released]!.seq <= seq) released += 1;
    for (const waiter of list.splice(0, released)) this.#finish(waiter, 'reached');
  }

  #finish(waiter: Waiter, outcome: WaitOutcome): void {
    clearTimeout(waiter.timer);
    this.#waiterCount -= 1;
    assert(this.#waiterCount >= 0, 'waiter count went negative');
    this.#metrics.checkpointWaiters.set(this.#waiterCount);
    this.#metrics.checkpointWaits.inc({ outcome });
    this.#metrics.checkpointWaitDurationSeconds.observe((performance.now() - waiter.started) / 1000);
    waiter.resolve(outcome);
  }
}

/** First index whose seq is greater than `seq` (keeps equal seqs in arrival order). */
function insertionIndex(list: readonly Waiter[], seq: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (list[middle]!.seq <= seq) low = middle + 1;
    else high = middle;
  }
  return low;
}
