/**
 * The Prisma client for the job history, on SQLite (default) or PostgreSQL, chosen by DATABASE_URL.
 * Both use Prisma's engine-less client over a driver adapter, so nothing native is downloaded. The two
 * generated clients come from the same models (prisma/postgresql/schema.prisma is generated from
 * prisma/schema.prisma), so the rest of the studio uses one type for either.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { config, sqlitePath } from "../config.ts";
import { PrismaClient } from "./generated/sqlite/client.ts";
import { PrismaClient as PostgresPrismaClient } from "./generated/postgresql/client.ts";
import { databaseProvider } from "./provider.ts";

export type Db = PrismaClient;
export type { Job as JobRow, Upload as UploadRow } from "./generated/sqlite/client.ts";

const globalForDb = globalThis as unknown as { studioDb?: Db };

export function createDb(databaseUrl: string): Db {
  if (databaseProvider(databaseUrl) === "sqlite") {
    const file = sqlitePath(databaseUrl);
    mkdirSync(path.dirname(file), { recursive: true });
    return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: `file:${file}` }) });
  }
  // Same models, same generated API: only the SQL dialect behind it differs.
  return new PostgresPrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) }) as unknown as Db;
}

/** The process-wide client (kept on globalThis so Next's dev reloads do not open a new pool each time). */
export function db(): Db {
  globalForDb.studioDb ??= createDb(config().databaseUrl);
  return globalForDb.studioDb;
}
