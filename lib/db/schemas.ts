/**
 * The PostgreSQL Prisma schema is derived from the SQLite one (prisma/schema.prisma), never edited by
 * hand: the models are the same, only the datasource and the generated client's folder differ. A test
 * compares the committed prisma/postgresql/schema.prisma with `postgresSchemaFrom(sqlite)`, and
 * `npx tsx cli/db-schemas.ts` rewrites it.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

export const SQLITE_SCHEMA = "prisma/schema.prisma";
export const POSTGRES_SCHEMA = "prisma/postgresql/schema.prisma";
export const SQLITE_MIGRATIONS = "prisma/migrations";
export const POSTGRES_MIGRATIONS = "prisma/postgresql/migrations";

const GENERATED_NOTICE = [
  "// GENERATED from prisma/schema.prisma by lib/db/schemas.ts: do not edit. Change the SQLite schema and run",
  "// `npx tsx cli/db-schemas.ts`. The models are identical; only the datasource and the client folder differ.",
].join("\n");

function replaceOnce(text: string, pattern: RegExp, replacement: string, what: string): string {
  if (!pattern.test(text)) throw new Error(`prisma/schema.prisma: cannot find ${what} to rewrite for PostgreSQL`);
  return text.replace(pattern, replacement);
}

/** The PostgreSQL schema text for a SQLite schema text. */
export function postgresSchemaFrom(sqlite: string): string {
  // The SQLite file starts with its own comment block; the generated file gets the notice instead.
  let text = sqlite.replace(/^(\/\/[^\n]*\n)+\n?/, "");
  text = replaceOnce(text, /provider\s*=\s*"sqlite"/, 'provider = "postgresql"', "the sqlite provider");
  // The migrations and the client use prisma.config.ts's driver adapter; the url only satisfies the schema format.
  text = replaceOnce(text, /(datasource db \{[^}]*?url\s*=\s*)"file:[^"]*"/, '$1env("DATABASE_URL")', "the datasource url");
  // The schema sits one folder deeper, and the client goes beside the SQLite one.
  text = replaceOnce(
    text,
    /output(\s*)=\s*"\.\.\/lib\/db\/generated\/sqlite"/,
    'output$1= "../../lib/db/generated/postgresql"',
    "the generator output",
  );
  return `${GENERATED_NOTICE}\n\n${text}`;
}

/** The PostgreSQL schema generated from the committed SQLite schema under `root`. */
export function generatedPostgresSchema(root = process.cwd()): string {
  return postgresSchemaFrom(readFileSync(path.join(root, SQLITE_SCHEMA), "utf8"));
}
