/**
 * Applies the committed migrations to the configured database (`prisma migrate deploy`, run through
 * Prisma's JavaScript schema engine so it works offline).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

export function migrateDatabase(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): void {
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
