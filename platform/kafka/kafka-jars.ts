/**
 * Fetches Apache Kafka's broker jars and their runtime dependencies from Maven Central with the
 * small pom beside this file, into a cache directory reused by every later start. Maven's own
 * repository (~/.m2) caches the downloads, so a second checkout copies rather than downloads.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../common/logger.ts';
import { requireJava, requireMaven } from './toolchain.ts';

export const pomPath = fileURLToPath(new URL('./pom.xml', import.meta.url));
export const repositoryRoot = path.resolve(path.dirname(pomPath), '..', '..');
export const fetchTimeoutMs = 15 * 60_000;

export function kafkaVersion(): string {
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(pomPath, 'utf8'));
  if (!match?.[1]) throw new Error(`no <kafka.version> in ${pomPath}`);
  return match[1];
}

export function defaultJarCacheDir(): string {
  return process.env.KAFKA_JARS_DIR ?? path.join(repositoryRoot, '.cache', `kafka-${kafkaVersion()}`);
}

function isComplete(directory: string): boolean {
  if (!existsSync(path.join(directory, '.complete'))) return false;
  const jars = readdirSync(directory).filter((name) => name.endsWith('.jar'));
  return jars.some((name) => name.startsWith('kafka_2.13-')) && jars.some((name) => name.startsWith('kafka-clients-'));
}

/** Ensures the jars are present and returns their directory. Idempotent; safe to call on every start. */
export async function ensureKafkaJars(log: Logger, directory = defaultJarCacheDir()): Promise<string> {
  if (isComplete(directory)) return directory;
  requireJava();
  requireMaven();
  const staging = `${directory}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  log.info({ directory, version: kafkaVersion() }, 'fetching Apache Kafka jars from Maven Central (first run only)');
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      'mvn',
      ['-B', '-q', '-f', pomPath, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${staging}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), fetchTimeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`mvn dependency:copy-dependencies failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
  writeFileSync(path.join(staging, '.complete'), `${kafkaVersion()}\n`);
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(path.dirname(directory), { recursive: true });
  renameSync(staging, directory);
  log.info({ directory, ms: Date.now() - started }, 'Kafka jars ready');
  return directory;
}
