/**
 * The Prisma client for the job history, on SQLite (default) or PostgreSQL, chosen by DATABASE_URL.
 * Both use Prisma's engine-less client over a driver adapter, so nothing native is downloaded.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { config, sqlitePath } from "../config.ts";
import { PrismaClient } from "./generated/sqlite/client.ts";

export type Db = PrismaClient;

const globalForDb = globalThis as unknown as { studioDb?: Db };

export function createDb(databaseUrl: string): Db {
  if (databaseUrl.startsWith("file:")) {
    const file = sqlitePath(databaseUrl);
    mkdirSync(path.dirname(file), { recursive: true });
    return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: `file:${file}` }) });
  }
  throw new Error("PostgreSQL support needs the generated PostgreSQL client (npm run db:schemas)");
}

/** The process-wide client (kept on globalThis so Next's dev reloads do not open a new pool each time). */
export function db(): Db {
  globalForDb.studioDb ??= createDb(config().databaseUrl);
  return globalForDb.studioDb;
}
