import { defineConfig } from 'vitest/config';

// Tiers by file suffix (STYLE.md): unit tests are pure and need nothing; integration and
// end-to-end tests get real Kafka and Postgres from the global setup (Testcontainers when a
// Docker engine is reachable, otherwise the same local services `npm start` runs).
export default defineConfig({
  test: {
    // CI also writes a JSON report, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.ci/results/vitest.json' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.unit.test.ts'],
          exclude: ['node_modules/**', 'dist/**', '.data/**'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'int',
          include: ['**/*.int.test.ts', '**/*.e2e.test.ts'],
          exclude: ['node_modules/**', 'dist/**', '.data/**'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
