/**
 * The PostgreSQL schema is generated from the SQLite one, and each provider's single init migration is
 * exactly what Prisma generates from its schema: a model change that skips either step fails here.
 */
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { generatedPostgresSchema, POSTGRES_MIGRATIONS, POSTGRES_SCHEMA, postgresSchemaFrom, SQLITE_MIGRATIONS, SQLITE_SCHEMA } from "../../lib/db/schemas.ts";
import { migrationNames } from "../../lib/db/migrate-postgres.ts";
import Database from "better-sqlite3";
import { migrateDatabase } from "../../lib/db/migrate.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { migrationFromSchema } from "../helpers/prisma.ts";

/** Every table's columns, indexes and foreign keys, apart from Prisma's bookkeeping table. */
function sqliteShape(db: Database.Database): unknown {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> '_prisma_migrations' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
  return Object.fromEntries(
    tables.map((t) => [
      t,
      {
        columns: db.prepare(`PRAGMA table_info("${t}")`).all(),
        foreignKeys: db.prepare(`PRAGMA foreign_key_list("${t}")`).all(),
        indexes: db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name`).all(t),
      },
    ]),
  );
}

describe("database schemas", () => {
  it("prisma/postgresql/schema.prisma is the one generated from prisma/schema.prisma (npx tsx cli/db-schemas.ts)", () => {
    expect(readFileSync(POSTGRES_SCHEMA, "utf8")).toBe(generatedPostgresSchema());
  });

  it("the generated schema differs only in provider, url and client folder", () => {
    const sqlite = readFileSync(SQLITE_SCHEMA, "utf8");
    const pg = postgresSchemaFrom(sqlite);
    expect(pg).toContain('provider = "postgresql"');
    expect(pg).toContain('url      = env("DATABASE_URL")');
    expect(pg).toContain('"../../lib/db/generated/postgresql"');
    const models = (text: string) => text.slice(text.indexOf("/// One generation request"));
    expect(models(pg)).toBe(models(sqlite));
    expect(() => postgresSchemaFrom("model X { id String @id }")).toThrow(/sqlite provider/);
  });

  it("SQLite's migrations, applied in order, build what Prisma generates from the schema", async () => {
    const scratch = tempDir("schema-diff");
    try {
      const migrated = path.join(scratch, "migrated.db");
      await migrateDatabase({ ...process.env, DATABASE_URL: `file:${migrated}` });
      // prisma.config.ts opens the adapter's database even for a diff: give it a throwaway file.
      const reference = new Database(path.join(scratch, "reference.db"));
      reference.exec(migrationFromSchema(SQLITE_SCHEMA, `file:${path.join(scratch, "diff.db")}`));
      const db = new Database(migrated, { readonly: true });
      try {
        expect(sqliteShape(db)).toEqual(sqliteShape(reference));
      } finally {
        db.close();
        reference.close();
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    expect(migrationNames(SQLITE_MIGRATIONS)[0]).toBe("20261128000000_init");
    // PostgreSQL's counterpart is checked in postgres.test.ts: Prisma's diff connects to a server.
    expect(migrationNames(POSTGRES_MIGRATIONS)).toEqual(migrationNames(SQLITE_MIGRATIONS));
  });
});
