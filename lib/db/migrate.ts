/**
 * Applies the committed migrations to the configured database. SQLite: `prisma migrate deploy`, run
 * through Prisma's JavaScript schema engine so it works offline. PostgreSQL: migrate-postgres.ts (the
 * JavaScript engine cannot read PostgreSQL's catalog through the pg adapter in Prisma 6.19).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { databaseProvider } from "./provider.ts";
import { migratePostgres } from "./migrate-postgres.ts";
import { POSTGRES_MIGRATIONS } from "./schemas.ts";

export async function migrateDatabase(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<void> {
  const url = env.DATABASE_URL;
  if (url && databaseProvider(url) === "postgresql") {
    await migratePostgres(url, path.join(cwd, POSTGRES_MIGRATIONS));
    return;
  }
  const require = createRequire(import.meta.url);
  const prismaCli = path.join(path.dirname(require.resolve("prisma/package.json")), "build", "index.js");
  const result = spawnSync(process.execPath, [prismaCli, "migrate", "deploy"], {
    cwd,
    env: { ...env, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
    encoding: "utf8",
  });
  if (result.status !== 0) {
    throw new Error(`Database migration failed:\n${(result.stdout ?? "") + (result.stderr ?? "")}`.trim());
  }
}
