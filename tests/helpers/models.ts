/**
 * A model folder for tests that exercise the studio around the engine (job validation, model listing):
 * a real manifest in the format models/manifest.ts writes, with the tiny model's generation defaults.
 * It has no graph files, so it is only for tests that never load the model.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { TINY_DEFAULTS, writeManifest, type Manifest } from "../../models/manifest.ts";

export async function writeTestModel(modelsDir: string, name = "wan-tiny", overrides: Partial<Manifest> = {}): Promise<Manifest> {
  const manifest: Manifest = {
    format: "wan-studio-model",
    version: 1,
    name,
    architecture: "wan2.1",
    variant: "t2v",
    tiny: true,
    createdAt: new Date().toISOString(),
    source: "tests",
    textLen: 512,
    components: {},
    preview: null,
    defaults: TINY_DEFAULTS,
    ...overrides,
  };
  const dir = path.join(modelsDir, name);
  mkdirSync(dir, { recursive: true });
  await writeManifest(dir, manifest);
  return manifest;
}
