/**
 * Runs the migrations in migrations/ (ISO-date-prefixed, frozen in time) with Kysely's Migrator.
 * A failed migration throws naming the migration; callers stop start-up with it.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider, type MigrationResult } from 'kysely/migration';
import type { Logger } from '../logger.ts';

export const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url));
const migrationFilePattern = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-[a-z0-9-]+\.ts$/;

/** Loads every migration file of the folder; a file not matching the naming rule is an error. */
export class MigrationFolderProvider implements MigrationProvider {
  readonly #directory: string;
  constructor(directory = migrationsDir) {
    this.#directory = directory;
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const file of (await readdir(this.#directory)).sort()) {
      if (!file.endsWith('.ts')) continue;
      if (!migrationFilePattern.test(file)) throw new Error(`migration file ${file} does not follow YYYY-MM-DDTHH-MM-name.ts`);
      const module = (await import(pathToFileURL(path.join(this.#directory, file)).href)) as Partial<Migration>;
      if (typeof module.up !== 'function') throw new Error(`migration ${file} exports no up()`);
      migrations[file.replace(/\.ts$/, '')] = module as Migration;
    }
    return migrations;
  }
}

export class MigrationFailedError extends Error {
  readonly migration: string | undefined;
  constructor(migration: string | undefined, cause: unknown) {
    super(`migration ${migration ?? '(provider)'} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'MigrationFailedError';
    this.migration = migration;
  }
}

export async function migrateToLatest(db: Kysely<unknown>, log: Logger, provider: MigrationProvider = new MigrationFolderProvider()): Promise<MigrationResult[]> {
  const migrator = new Migrator({ db, provider, migrationTableSchema: 'public' });
  const { error, results = [] } = await migrator.migrateToLatest();
  for (const result of results) {
    if (result.status === 'Success') log.info({ migration: result.migrationName }, 'migration applied');
  }
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error');
    throw new MigrationFailedError(failed?.migrationName, error);
  }
  return results;
}
