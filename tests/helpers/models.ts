/**
 * Models for tests that run jobs: the built-in tiny model (the exact Wan 2.1 architecture at toy size, random
 * weights, real ONNX graphs), generated once per variant into this test run's cache folder (made and removed
 * by tests/setup/services.ts; files run one after another, and each test process remembers what it found),
 * then copied into a studio's models folder under the name a test wants. Plus a manifest-only folder for what
 * must not or need not load.
 */
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { inject } from "vitest";
import { MANIFEST_FILE, readManifest, TINY_DEFAULTS, writeManifest, type Manifest } from "../../models/manifest.ts";
import { generateTinyModel, TINY_SOURCE_DIR } from "../../lib/model-library/tiny.ts";
import { recipeDefaults } from "../../lib/engine/schedulers/distilled-recipes.ts";
import type { DistilledRecipe } from "../../lib/schemas/generation.ts";

/** The model name the tests use for the tiny text-to-video model (first by name, so it is the studio's default). */
export const TINY_T2V = "wan-tiny";
/** The tiny Fun-InP-style image-to-video model (36-channel DiT + tiny CLIP); sorts after TINY_T2V. */
export const TINY_I2V = "wan-tiny-i2v";
/** The tiny text-to-video model with the rCM recipe in its manifest (a tiny "distilled" model). */
export const TINY_RCM = "wan-tiny-rcm";
/** A manifest without graph files: a broken install, whose jobs fail for real when the worker loads it. */
export const BROKEN_MODEL = "wan-tiny-broken";

/** One seed for every generated tiny model, so a test's numbers do not depend on which file generated it. */
const TINY_SEED = 7;

const cache = new Map<string, Promise<string>>();

/** The generated model of one variant in the run's cache folder (generated on first use, ~1–3 s). */
function cachedTinyModel(i2v: boolean): Promise<string> {
  const variant = i2v ? "i2v" : "t2v";
  let dir = cache.get(variant);
  if (!dir) {
    dir = (async () => {
      const root = inject("tinyModelCache");
      const ready = path.join(root, `${variant}-seed${TINY_SEED}`);
      if (existsSync(path.join(ready, MANIFEST_FILE))) return ready;
      // Built beside and renamed into place, so a folder with a manifest is always a complete model.
      const building = path.join(root, `.${variant}.${process.pid}.building`);
      rmSync(building, { recursive: true, force: true });
      await generateTinyModel({ outDir: building, seed: TINY_SEED, i2v });
      rmSync(path.join(building, TINY_SOURCE_DIR), { recursive: true, force: true });
      try {
        renameSync(building, ready);
      } catch (e) {
        // Another test process finished the same model first: use that one.
        rmSync(building, { recursive: true, force: true });
        if (!existsSync(path.join(ready, MANIFEST_FILE))) throw e;
      }
      return ready;
    })();
    // A failed generation is not remembered: the next test gets the real error again.
    dir.catch(() => cache.delete(variant));
    cache.set(variant, dir);
  }
  return dir;
}

/**
 * Installs the tiny model as `modelsDir/<name>` (default TINY_T2V, or TINY_I2V with `i2v`), with `name` in its
 * manifest as a converted model carries its folder's name. Returns the model folder.
 */
export async function installTinyModel(
  modelsDir: string,
  opts: { name?: string; i2v?: boolean; recipe?: DistilledRecipe } = {},
): Promise<string> {
  const i2v = opts.i2v ?? false;
  const name = opts.name ?? (i2v ? TINY_I2V : TINY_T2V);
  const source = await cachedTinyModel(i2v);
  const dir = path.join(modelsDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(modelsDir, { recursive: true });
  cpSync(source, dir, { recursive: true });
  const manifest = await readManifest(dir);
  // A tiny "distilled" model: the same weights with the recipe in the manifest, as `models tiny --recipe` writes it.
  const recipe = opts.recipe ? { recipe: opts.recipe, defaults: recipeDefaults(manifest.defaults, opts.recipe) } : {};
  if (manifest.name !== name || opts.recipe) await writeManifest(dir, { ...manifest, name, ...recipe });
  return dir;
}

/**
 * A model folder with only a manifest (in the format models/manifest.ts writes, with the tiny model's
 * defaults) and no graph files. For tests that never load a model (validation, model listing, pages without
 * a worker) and as a broken install (BROKEN_MODEL): a job on it fails for real when the worker loads it.
 */
export async function writeTestModel(modelsDir: string, name = TINY_T2V, overrides: Partial<Manifest> = {}): Promise<Manifest> {
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
