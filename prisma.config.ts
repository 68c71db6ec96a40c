/**
 * Prisma CLI configuration. Migrations run through Prisma's JavaScript schema engine over a driver
 * adapter, so `prisma migrate deploy` works offline (no native engine download).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { loadConfig, sqlitePath } from "./lib/config.ts";

const cfg = loadConfig();
const postgres = cfg.databaseProvider === "postgresql";

export default defineConfig({
  schema: postgres ? "prisma/postgresql/schema.prisma" : "prisma/schema.prisma",
  migrations: { path: postgres ? "prisma/postgresql/migrations" : "prisma/migrations" },
  experimental: { adapter: true },
  engine: "js",
  adapter: async () => {
    if (postgres) {
      const { PrismaPg } = await import("@prisma/adapter-pg");
      return new PrismaPg({ connectionString: cfg.databaseUrl });
    }
    const file = sqlitePath(cfg.databaseUrl);
    mkdirSync(path.dirname(file), { recursive: true });
    return new PrismaBetterSQLite3({ url: `file:${file}` });
  },
});
