/**
 * The model folders under MODELS_DIR (each with a manifest.json). Kept apart from the tiny-model generator so
 * the web server can list models without bundling the converter and the engine.
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { MANIFEST_FILE } from "../../models/manifest.ts";

/** Names of the model folders (those holding a manifest) under `modelsDir`; folders starting with "." are work in progress. */
export function installedModels(modelsDir: string): string[] {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith(".") && existsSync(path.join(modelsDir, d.name, MANIFEST_FILE)))
    .map((d) => d.name)
    .sort();
}
