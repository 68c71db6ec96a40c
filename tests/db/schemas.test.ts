/**
 * The PostgreSQL schema is generated from the SQLite one, and each provider's single init migration is
 * exactly what Prisma generates from its schema: a model change that skips either step fails here.
 */
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { generatedPostgresSchema, POSTGRES_MIGRATIONS, POSTGRES_SCHEMA, postgresSchemaFrom, SQLITE_MIGRATIONS, SQLITE_SCHEMA } from "../../lib/db/schemas.ts";
import { migrationNames } from "../../lib/db/migrate-postgres.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { migrationFromSchema } from "../helpers/prisma.ts";

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

  it("SQLite has one init migration, equal to what Prisma generates from the schema", () => {
    expect(migrationNames(SQLITE_MIGRATIONS)).toEqual(["20261128000000_init"]);
    // prisma.config.ts opens the adapter's database even for a diff: give it a throwaway file.
    const scratch = tempDir("schema-diff");
    try {
      expect(readFileSync(path.join(SQLITE_MIGRATIONS, "20261128000000_init", "migration.sql"), "utf8")).toBe(
        migrationFromSchema(SQLITE_SCHEMA, `file:${path.join(scratch, "diff.db")}`),
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    // PostgreSQL's counterpart is checked in postgres.test.ts: Prisma's diff connects to a server.
    expect(migrationNames(POSTGRES_MIGRATIONS)).toEqual(["20261128000000_init"]);
  });
});
