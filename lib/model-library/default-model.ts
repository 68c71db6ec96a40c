/**
 * The studio works out of the box: when no model is installed under MODELS_DIR, the built-in tiny
 * random-weight model (the exact Wan 2.1 architecture at toy size) is generated and converted there.
 * It is built in a temporary folder and renamed into place, so a crash never leaves half a model, and a
 * lock folder keeps two processes (the studio and a worker on the same storage) from building it twice.
 */
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { installedModels } from "./installed.ts";
import { generateTinyModel, TINY_MODEL_NAME } from "./tiny.ts";

/** A lock older than this belongs to a process that died while building. */
const STALE_LOCK_MS = 10 * 60_000;

export async function ensureDefaultModel(modelsDir: string, log: (line: string) => void): Promise<void> {
  await mkdir(modelsDir, { recursive: true });
  const lock = path.join(modelsDir, ".tiny-model.lock");
  for (;;) {
    const models = installedModels(modelsDir);
    if (models.length) {
      log(`models: ${models.join(", ")}`);
      return;
    }
    try {
      await mkdir(lock);
      break;
    } catch {
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > STALE_LOCK_MS) await rm(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 500)); // another process is building it
    }
  }
  try {
    if (installedModels(modelsDir).length) return;
    log(`models: none installed; preparing the built-in tiny model (${TINY_MODEL_NAME})`);
    const building = path.join(modelsDir, `.${TINY_MODEL_NAME}.building`);
    await rm(building, { recursive: true, force: true });
    await generateTinyModel({ outDir: building, name: TINY_MODEL_NAME, log: (line) => log(`  ${line}`) });
    await rename(building, path.join(modelsDir, TINY_MODEL_NAME));
    log(`models: ${TINY_MODEL_NAME} ready`);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
