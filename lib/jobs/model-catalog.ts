/**
 * The models a studio offers: every folder under MODELS_DIR with a valid manifest.json. A folder whose
 * manifest does not parse is left out (and logged), so one broken download does not hide the others.
 */
import path from "node:path";
import { readDefaultChoice } from "../model-library/default-choice.ts";
import { folderBytes } from "../model-library/disk-usage.ts";
import { installedModels } from "../model-library/installed.ts";
import { DISTILLED_RECIPE_SETTINGS } from "../engine/schedulers/distilled-recipes.ts";
import { negativePromptFor } from "../engine/text/negative-prompt.ts";
import { readManifest, type Manifest } from "../../models/manifest.ts";
import type { ModelJson } from "./schemas.ts";

/** `chosen`: the user made it the default (lib/model-library/default-choice.ts). */
export type InstalledModel = { name: string; manifest: Manifest; sizeBytes: number; chosen: boolean };

export async function loadModels(modelsDir: string, log: (line: string) => void = () => {}): Promise<InstalledModel[]> {
  const models: InstalledModel[] = [];
  const choice = readDefaultChoice(modelsDir);
  for (const name of installedModels(modelsDir)) {
    try {
      const dir = path.join(modelsDir, name);
      models.push({ name, manifest: await readManifest(dir), sizeBytes: folderBytes(dir), chosen: name === choice });
    } catch (e) {
      log(`model ${name} skipped: ${(e as Error).message}`);
    }
  }
  return models;
}

/** The model used when a request names none: the user's choice, else the first real model by name, else the tiny test model. */
export function defaultModel(models: InstalledModel[]): InstalledModel | undefined {
  return models.find((m) => m.chosen) ?? models.find((m) => !m.manifest.tiny) ?? models[0];
}

/** How the model turns an image into video: the i2v variant conditions on CLIP, t2v holds the first frame. */
export function imageToVideoMode(manifest: Manifest): ModelJson["imageToVideo"] {
  return manifest.variant === "i2v" ? "clip-conditioning" : "first-frame";
}

/** The DiT's precision, which decides speed and memory (the VAE always runs in fp32; the text encoder may differ). */
function modelPrecision(manifest: Manifest): ModelJson["precision"] {
  const c = manifest.components;
  return (c.transformer ?? c.textEncoder ?? c.imageEncoder ?? c.vae)?.precision ?? null;
}

/** The recipe of a distilled model, as the studio offers it. */
export function recipeJson(manifest: Manifest): ModelJson["recipe"] {
  if (!manifest.recipe) return null;
  const { label, solver, steps, guidance } = DISTILLED_RECIPE_SETTINGS[manifest.recipe];
  return { name: manifest.recipe, label, solver, steps, guidance };
}

export function modelJson(model: InstalledModel, isDefault: boolean): ModelJson {
  const { manifest } = model;
  return {
    name: model.name,
    variant: manifest.variant,
    tiny: manifest.tiny,
    defaults: manifest.defaults,
    defaultNegativePrompt: negativePromptFor(undefined, manifest.variant, manifest.variant),
    imageToVideo: imageToVideoMode(manifest),
    default: isDefault,
    precision: modelPrecision(manifest),
    sizeBytes: model.sizeBytes,
    source: manifest.source,
    installedAt: manifest.createdAt,
    recipe: recipeJson(manifest),
  };
}

export async function listModels(modelsDir: string, log?: (line: string) => void): Promise<ModelJson[]> {
  const models = await loadModels(modelsDir, log);
  const fallback = defaultModel(models);
  return models.map((m) => modelJson(m, m === fallback));
}
