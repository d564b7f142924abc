import { describe, expect, it } from 'vitest';
import { MissingToolError, requireJava, requireMaven } from './toolchain.ts';

function withEnvironment<T>(changes: Record<string, string>, run: () => T): T {
  const saved = Object.fromEntries(Object.keys(changes).map((key) => [key, process.env[key]]));
  Object.assign(process.env, changes);
  try {
    return run();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

describe('toolchain checks for the local Kafka broker', () => {
  it('names Java, what to install and the alternatives when Java is missing, within seconds', () => {
    const started = Date.now();
    const error = withEnvironment({ JAVA_HOME: '/nonexistent-jdk' }, () => {
      try {
        requireJava();
      } catch (caught) {
        return caught;
      }
      return undefined;
    });
    expect(error).toBeInstanceOf(MissingToolError);
    expect((error as Error).message).toContain('Java is needed to run the local Kafka broker but `/nonexistent-jdk/bin/java` was not found.');
    expect((error as Error).message).toContain('KAFKA_BROKERS');
    expect((error as Error).message).toContain('docker compose up');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('names Maven when it is not on PATH', () => {
    const error = withEnvironment({ PATH: '/nonexistent-bin' }, () => {
      try {
        requireMaven();
      } catch (caught) {
        return caught;
      }
      return undefined;
    });
    expect(error).toBeInstanceOf(MissingToolError);
    expect((error as Error).message).toMatch(/^Maven is needed .* `mvn` was not found on PATH/);
  });

  it('accepts the JDK of this machine and reports its major version', () => {
    expect(requireJava()).toBeGreaterThanOrEqual(17);
  });
});
