/** `npm run db:migrate`: applies the committed migrations to DATABASE_URL (the studio does this at start). */
import { ConfigError, loadConfig } from "../lib/config.ts";
import { migrateDatabase } from "../lib/db/migrate.ts";

try {
  const cfg = loadConfig();
  // DATABASE_URL may be unset (SQLite under DATA_DIR): pass the resolved one on.
  await migrateDatabase({ ...process.env, DATABASE_URL: cfg.databaseUrl });
  console.log(`database up to date (${cfg.databaseProvider})`);
} catch (e) {
  console.error(e instanceof ConfigError ? e.message : (e as Error).message);
  process.exit(1);
}
