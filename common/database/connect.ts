/** One place that turns a DATABASE_URL into a Kysely instance with explicit pool limits. */
import assert from 'node:assert/strict';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';

export interface DatabaseOptions {
  readonly url: string;
  readonly poolSizeMax?: number;
  readonly connectTimeoutMs?: number;
  readonly applicationName: string;
  /**
   * Called when an IDLE pooled connection fails (server restart, pg_terminate_backend, DROP
   * DATABASE … FORCE). The pool drops that connection and the next query opens a new one, so this
   * is only worth a log line; without a listener node-postgres would raise it as an uncaught error
   * and end the process.
   */
  readonly onIdleConnectionError?: (error: Error) => void;
}

// Postgres bigint (int8) and numeric come back as strings; keep them so (never floats).
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => value);

/**
 * What to log of a failed connection's error: node-postgres attaches the failing Client to some of
 * them (`error.client`), and a logger's error serializer would print its whole state — queued
 * query texts and all — as one multi-kilobyte line.
 */
export function connectionErrorForLog(error: Error): { type: string; message: string; code?: string } {
  const code = (error as { code?: unknown }).code;
  return { type: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

const connectionLossCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', '57P01', '57P02', '57P03']);
const connectionLossMessages = [
  'Connection terminated', 'Client has encountered a connection error', 'timeout exceeded when trying to connect',
];

/**
 * The server could not be reached or the connection to it was lost (refused, reset, timed out, the
 * server shutting down or starting: SQLSTATE class 08 and 57P01–57P03) — as opposed to an error in
 * what was asked. A transaction that failed this way may or may not have committed.
 */
export function isConnectionLoss(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (connectionLossCodes.has(code) || code.startsWith('08'))) return true;
  if (connectionLossMessages.some((text) => error.message.startsWith(text))) return true;
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isConnectionLoss(cause);
}

export function createPool(options: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSizeMax ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName,
  });
  pool.on('error', (error) => options.onIdleConnectionError?.(error));
  // A connection the server ends while it is checked out (a Kysely transaction between two
  // statements, a COPY fold between slices) reports it as an 'error' event on its client, and the
  // pool listens only to idle ones: without this listener that event would end the process. The
  // error needs no handling here — the client's next query fails with it, and the pool destroys a
  // client that is no longer queryable when it is released.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

const poolsByDatabase = new WeakMap<object, pg.Pool>();

export function createDatabase<T>(options: DatabaseOptions): Kysely<T> {
  const pool = createPool(options);
  const db = new Kysely<T>({ dialect: new PostgresDialect({ pool }) });
  poolsByDatabase.set(db, pool);
  return db;
}

/**
 * The node-postgres pool behind a Kysely instance made by createDatabase, for what Kysely cannot
 * express (COPY … FROM STDIN). Throws for an instance made elsewhere.
 */
export function poolOf(db: Kysely<unknown>): pg.Pool {
  const pool = poolsByDatabase.get(db);
  assert(pool !== undefined, 'this Kysely instance was not made by createDatabase (no pool to take a raw client from)');
  return pool;
}

const boundByClient = new WeakMap<pg.PoolClient, Kysely<unknown>>();

/** A Kysely instance whose every query runs on `client` (made once per pooled connection). */
function boundTo(client: pg.PoolClient): Kysely<unknown> {
  let bound = boundByClient.get(client);
  if (bound === undefined) {
    bound = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: { connect: async () => ({ query: client.query.bind(client), release: () => undefined }), end: async () => undefined } as never }),
    });
    boundByClient.set(client, bound);
  }
  return bound;
}

/**
 * Runs `body` in one transaction on one pooled connection, giving it both a Kysely instance bound
 * to that connection and the raw client (for COPY). Commits when `body` resolves, rolls back when
 * it throws; a connection whose rollback failed is destroyed rather than returned to the pool.
 */
export async function withClientTransaction<T>(
  db: Kysely<unknown>,
  body: (transaction: Kysely<unknown>, client: pg.PoolClient, opened: readonly pg.QueryResult[]) => Promise<T>,
  openingStatements?: string,
): Promise<T> {
  const client = await poolOf(db).connect();
  let broken: Error | undefined;
  try {
    // `openingStatements` (no parameters: the simple protocol) go in the same round trip as BEGIN;
    // each still runs as its own statement (its own snapshot under READ COMMITTED).
    const opening: unknown = await client.query(openingStatements === undefined ? 'BEGIN' : `BEGIN; ${openingStatements}`);
    const opened = Array.isArray(opening) ? (opening as pg.QueryResult[]).slice(1) : [];
    const result = await body(boundTo(client), client, opened);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Fails fast (bounded) with a readable message when the server cannot be reached. */
export async function checkDatabaseReachable(url: string, timeoutMs = 10_000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(`cannot reach Postgres at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable url)';
  }
}
