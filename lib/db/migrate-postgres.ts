/**
 * Applies prisma/postgresql/migrations to a PostgreSQL database. Prisma 6.19's JavaScript schema engine
 * cannot migrate PostgreSQL through @prisma/adapter-pg (it fails reading the catalog's `name` columns:
 * "Column type 'name' could not be deserialized", prisma/orm#27403), and the native engine would have
 * to be downloaded. Applying committed SQL files in order is all `migrate deploy` does, so this does
 * it directly, keeping Prisma's own bookkeeping table (`_prisma_migrations`, same columns and sha256
 * checksums) so that Prisma's CLI, where it works, sees the same history.
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";

/** The advisory lock key Prisma Migrate takes, so this and Prisma never migrate at the same time. */
const MIGRATE_LOCK_KEY = 72707369;

const CREATE_BOOKKEEPING = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export type AppliedMigrations = { applied: string[]; alreadyApplied: string[] };

/** Migration folder names under `dir`, in the order they apply (their timestamp prefixes sort). */
export function migrationNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, "migration.sql")))
    .map((d) => d.name)
    .sort();
}

export async function migratePostgres(databaseUrl: string, migrationsDir: string): Promise<AppliedMigrations> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const result: AppliedMigrations = { applied: [], alreadyApplied: [] };
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATE_LOCK_KEY]);
    await client.query(CREATE_BOOKKEEPING);
    const rows = (
      await client.query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null }>(
        `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`,
      )
    ).rows.filter((r) => r.rolled_back_at === null);
    const failed = rows.find((r) => r.finished_at === null);
    if (failed) {
      throw new Error(
        `migration ${failed.migration_name} started but never finished on this database; fix the database by hand, then mark it rolled back`,
      );
    }
    const done = new Map(rows.map((r) => [r.migration_name, r.checksum]));
    for (const name of migrationNames(migrationsDir)) {
      const sql = readFileSync(path.join(migrationsDir, name, "migration.sql"));
      const checksum = createHash("sha256").update(sql).digest("hex");
      if (done.has(name)) {
        if (done.get(name) !== checksum) {
          throw new Error(`migration ${name} was changed after it was applied to this database (checksum differs)`);
        }
        result.alreadyApplied.push(name);
        continue;
      }
      // PostgreSQL runs DDL inside transactions: a migration applies completely or not at all.
      await client.query("BEGIN");
      try {
        await client.query(sql.toString("utf8"));
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
           VALUES ($1, $2, now(), $3, now(), 1)`,
          [randomUUID(), checksum, name],
        );
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw new Error(`migration ${name} failed: ${(error as Error).message}`);
      }
      result.applied.push(name);
    }
    return result;
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATE_LOCK_KEY]).catch(() => {});
    await client.end();
  }
}
