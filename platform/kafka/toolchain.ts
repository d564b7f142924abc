/**
 * Finds the JDK and Maven the local Kafka broker needs, failing fast with a message that says what
 * to do instead (install them, point KAFKA_BROKERS at a broker, or use Docker).
 */
import { spawnSync } from 'node:child_process';

export const toolProbeTimeoutMs = 15_000;

export class MissingToolError extends Error {
  constructor(tool: string, detail: string) {
    super(
      `${tool} is needed to run the local Kafka broker but ${detail}. ` +
        'Install Java 17+ and Maven (Debian: apt-get install openjdk-17-jre-headless maven), ' +
        'or set KAFKA_BROKERS=host:port to use a running broker, or run the platform with `docker compose up`.',
    );
    this.name = 'MissingToolError';
  }
}

function probe(command: string, args: string[]): { ok: true; output: string } | { ok: false; reason: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: toolProbeTimeoutMs });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? `\`${command}\` was not found${command.includes('/') ? '' : ' on PATH'}` : `\`${command}\` failed: ${result.error.message}` };
  }
  if (result.status !== 0) return { ok: false, reason: `\`${command} ${args.join(' ')}\` exited with ${result.status}` };
  return { ok: true, output: `${result.stdout}${result.stderr}` };
}

export function javaCommand(): string {
  const home = process.env.JAVA_HOME;
  return home ? `${home}/bin/java` : 'java';
}

/** Returns the Java major version; throws MissingToolError when Java is absent or older than 17. */
export function requireJava(): number {
  const java = javaCommand();
  const result = probe(java, ['-version']);
  if (!result.ok) throw new MissingToolError('Java', result.reason);
  const match = /version "(\d+)(?:\.(\d+))?/.exec(result.output);
  const major = match ? Number(match[1] === '1' ? match[2] : match[1]) : NaN;
  if (!Number.isFinite(major)) throw new MissingToolError('Java', `\`${java} -version\` printed no version I understand`);
  if (major < 17) throw new MissingToolError('Java 17+', `the installed Java is ${major}`);
  return major;
}

export function requireMaven(): void {
  const result = probe('mvn', ['-v']);
  if (!result.ok) throw new MissingToolError('Maven', result.reason);
}
