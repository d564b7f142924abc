/**
 * Runs a single-node KRaft Apache Kafka broker from Kafka's own jars on the local JDK, bound to
 * 127.0.0.1, with its storage and logs under one data directory. Storage is formatted on first
 * start and reused afterwards. `stop()` shuts the broker down (SIGTERM, then SIGKILL after a bound)
 * and a broker left behind by a killed earlier run of the same data directory is stopped first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Logger } from '../../common/logger.ts';
import { ensureKafkaJars } from './kafka-jars.ts';
import { javaCommand } from './toolchain.ts';

export interface LocalKafkaOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly heapMb?: number;
  readonly log: Logger;
  readonly startTimeoutMs?: number;
}

export interface LocalKafka {
  readonly brokers: string[];
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
  /** Resolves when the broker process exits for any reason (used by the supervisor). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export const startTimeoutMsDefault = 90_000;
export const stopTimeoutMs = 20_000;
const readinessPollMs = 250;

export async function startLocalKafka(options: LocalKafkaOptions): Promise<LocalKafka> {
  const { dataDir, port, controllerPort, log } = options;
  const libs = await ensureKafkaJars(log);
  const home = path.resolve(dataDir);
  const storageDir = path.join(home, 'data');
  const logDir = path.join(home, 'logs');
  mkdirSync(storageDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });

  await stopStaleBroker(home, log);
  for (const candidate of [port, controllerPort]) {
    if (!(await isPortFree(candidate))) {
      throw new Error(
        `port 127.0.0.1:${candidate} is already in use, so the local Kafka broker cannot start. ` +
          'If a Kafka broker is already running there, set KAFKA_BROKERS to use it; otherwise choose other ports (KAFKA_PORT).',
      );
    }
  }

  const propertiesFile = path.join(home, 'server.properties');
  writeFileSync(propertiesFile, serverProperties({ port, controllerPort, storageDir }));
  const log4jFile = path.join(home, 'log4j.properties');
  const logFile = path.join(logDir, 'server.log');
  writeFileSync(log4jFile, log4jProperties(logFile));
  const java = javaCommand();
  const classpath = `${libs}/*`;
  const jvmLogging = `-Dlog4j.configuration=file:${log4jFile}`;

  if (!existsSync(path.join(storageDir, 'meta.properties'))) {
    const clusterId = await runJava(java, ['-cp', classpath, jvmLogging, 'kafka.tools.StorageTool', 'random-uuid']);
    await runJava(java, ['-cp', classpath, jvmLogging, 'kafka.tools.StorageTool', 'format', '-t', clusterId.trim(), '-c', propertiesFile]);
    log.info({ storageDir }, 'formatted Kafka storage');
  }

  const heapMb = options.heapMb ?? 768;
  const child = spawn(
    java,
    [`-Xms${Math.min(256, heapMb)}m`, `-Xmx${heapMb}m`, '-XX:+UseG1GC', '-Djava.awt.headless=true',
      jvmLogging, `-Dkafka.logs.dir=${logDir}`, '-cp', classpath, 'kafka.Kafka', propertiesFile],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${java}`);
  writeFileSync(path.join(home, 'broker.pid'), `${pid}\n`);
  let consoleTail = '';
  const keep = (chunk: Buffer) => {
    consoleTail = (consoleTail + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      rmSync(path.join(home, 'broker.pid'), { force: true });
      resolve({ code, signal });
    });
  });

  const brokers = [`127.0.0.1:${port}`];
  const deadline = Date.now() + (options.startTimeoutMs ?? startTimeoutMsDefault);
  let exitedEarly: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((status) => {
    exitedEarly = status;
  });
  while (true) {
    if (exitedEarly) {
      throw new Error(`the Kafka broker exited during start-up (${exitedEarly.signal ?? `exit ${exitedEarly.code}`}); see ${logFile}\n${consoleTail}${tail(logFile)}`);
    }
    if (await brokerAnswers(brokers)) break;
    if (Date.now() > deadline) {
      await stopChild(child, exited);
      throw new Error(`the Kafka broker did not become ready within ${options.startTimeoutMs ?? startTimeoutMsDefault} ms; see ${logFile}\n${tail(logFile)}`);
    }
    await sleep(readinessPollMs);
  }
  log.info({ brokers, pid, logFile }, 'local Kafka broker ready');

  return {
    brokers,
    pid,
    logFile,
    exited,
    stop: () => stopChild(child, exited),
  };
}

function serverProperties(options: { port: number; controllerPort: number; storageDir: string }): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${options.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${options.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${options.storageDir}`,
    // One broker: the internal topics cannot be replicated, and few partitions start faster.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=8',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=8',
    'group.initial.rebalance.delay.ms=0',
    // Topics are created explicitly by the platform (partition count, infinite retention).
    'auto.create.topics.enable=false',
    'num.partitions=1',
    'num.network.threads=2',
    'num.io.threads=4',
    '',
  ].join('\n');
}

function log4jProperties(logFile: string): string {
  return [
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.RollingFileAppender',
    `log4j.appender.file.File=${logFile}`,
    'log4j.appender.file.MaxFileSize=20MB',
    'log4j.appender.file.MaxBackupIndex=3',
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka=INFO',
    'log4j.logger.org.apache.kafka=INFO',
    '',
  ].join('\n');
}

async function runJava(java: string, args: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn(java, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${java} ${args.slice(-3).join(' ')} failed (exit ${code}): ${errors || output}`))));
  });
}

async function brokerAnswers(brokers: string[]): Promise<boolean> {
  const kafka = new Kafka({ clientId: 'local-kafka-probe', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1_000, requestTimeout: 2_000, retry: { retries: 0 } });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
  await exited;
  clearTimeout(timer);
}

/** A broker of this data directory left running by a killed earlier run would hold the ports. */
async function stopStaleBroker(home: string, log: Logger): Promise<void> {
  const pidFile = path.join(home, 'broker.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 0 || !isOurBroker(pid, home)) return;
  log.warn({ pid }, 'stopping a Kafka broker left running by an earlier run of this data directory');
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + stopTimeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

function isOurBroker(pid: number, home: string): boolean {
  try {
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return commandLine.includes('kafka.Kafka') && commandLine.includes(home);
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function tail(file: string, bytes = 3_000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
