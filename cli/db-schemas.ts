/**
 * `npx tsx cli/db-schemas.ts`: rewrites prisma/postgresql/schema.prisma from prisma/schema.prisma
 * (lib/db/schemas.ts). Run it after changing the SQLite schema, then create the migration for each
 * provider (see the command it prints) and regenerate the clients.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generatedPostgresSchema, POSTGRES_SCHEMA } from "../lib/db/schemas.ts";

const file = path.resolve(POSTGRES_SCHEMA);
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, generatedPostgresSchema());
console.log(`wrote ${POSTGRES_SCHEMA}`);
console.log(
  [
    "next:",
    "  npx prisma generate --schema prisma/schema.prisma && npx prisma generate --schema prisma/postgresql/schema.prisma",
    "  new migration SQL for each provider (strip the 'Loaded Prisma config' line):",
    "    npx prisma migrate diff --from-empty --to-schema-datamodel prisma/schema.prisma --script",
    "    DATABASE_URL=postgresql://localhost/x npx prisma migrate diff --from-empty --to-schema-datamodel prisma/postgresql/schema.prisma --script",
  ].join("\n"),
);
