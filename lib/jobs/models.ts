/**
 * The models a studio offers: every folder under MODELS_DIR with a valid manifest.json. A folder whose
 * manifest does not parse is left out (and logged), so one broken download does not hide the others.
 */
import path from "node:path";
import { installedModels } from "../models/installed.ts";
import { DISTILLED_RECIPE_SETTINGS } from "../engine/schedulers/distilled-recipes.ts";
import { effectiveNegativePrompt } from "../engine/text/negative-prompt.ts";
import { readManifest, type Manifest } from "../../models/manifest.ts";
import type { ModelJson } from "./schemas.ts";

export type InstalledModel = { name: string; manifest: Manifest };

export async function loadModels(modelsDir: string, log: (line: string) => void = () => {}): Promise<InstalledModel[]> {
  const models: InstalledModel[] = [];
  for (const name of installedModels(modelsDir)) {
    try {
      models.push({ name, manifest: await readManifest(path.join(modelsDir, name)) });
    } catch (e) {
      log(`model ${name} skipped: ${(e as Error).message}`);
    }
  }
  return models;
}

/** The model used when a request names none: the first real model by name, else the tiny test model. */
export function defaultModel(models: InstalledModel[]): InstalledModel | undefined {
  return models.find((m) => !m.manifest.tiny) ?? models[0];
}

/** How the model turns an image into video: the i2v variant conditions on CLIP, t2v holds the first frame. */
export function imageToVideoMode(manifest: Manifest): ModelJson["imageToVideo"] {
  return manifest.variant === "i2v" ? "clip-conditioning" : "first-frame";
}

/** The default negative prompt for a job of `kind` on this model (the i2v model's default carries its prefix). */
export function defaultNegativePromptFor(manifest: Manifest, kind: "t2v" | "i2v" | "v2v"): string {
  return effectiveNegativePrompt(undefined, kind === "i2v" && manifest.variant === "i2v" ? "i2v" : "t2v");
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
    defaultNegativePrompt: defaultNegativePromptFor(manifest, manifest.variant),
    imageToVideo: imageToVideoMode(manifest),
    default: isDefault,
    recipe: recipeJson(manifest),
  };
}

export async function listModels(modelsDir: string, log?: (line: string) => void): Promise<ModelJson[]> {
  const models = await loadModels(modelsDir, log);
  const fallback = defaultModel(models);
  return models.map((m) => modelJson(m, m === fallback));
}
