/**
 * The model the user made the default (the Models page, PATCH /api/models/:name): its name in a small file
 * in MODELS_DIR, so the web server, every worker and the CLI see the same choice. Without one (or when that
 * model is gone) the default is the first real model by name (lib/jobs/model-catalog.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/** A dot file, so it is never taken for a model folder. */
const CHOICE_FILE = ".default-model";

export function readDefaultChoice(modelsDir: string): string | null {
  const file = path.join(modelsDir, CHOICE_FILE);
  return existsSync(file) ? readFileSync(file, "utf8").trim() || null : null;
}

/** Records `name` as the default (null: back to the automatic choice); atomically, as every reader may look at once. */
export async function writeDefaultChoice(modelsDir: string, name: string | null): Promise<void> {
  const file = path.join(modelsDir, CHOICE_FILE);
  if (name === null) {
    await rm(file, { force: true });
    return;
  }
  await writeFile(`${file}.tmp`, `${name}\n`);
  await rename(`${file}.tmp`, file);
}
