/** Prisma CLI runs for tests. */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const prismaCli = path.join(path.dirname(require.resolve("prisma/package.json")), "build", "index.js");

/** `prisma migrate diff --from-empty` for a schema (through prisma.config.ts's adapter for `databaseUrl`). */
export function migrationFromSchema(schema: string, databaseUrl: string): string {
  const result = spawnSync(process.execPath, [prismaCli, "migrate", "diff", "--from-empty", "--to-schema-datamodel", schema, "--script"], {
    encoding: "utf8",
    env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
  });
  if (result.status !== 0) throw new Error(`prisma migrate diff failed:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

