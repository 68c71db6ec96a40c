/**
 * `models convert`: turns whatever the user has (a Diffusers pipeline, a component folder, official or ComfyUI
 * single files) into an ONNX model folder with a manifest. Components converted into a folder that already
 * holds a model are added to it, so single files can be converted one at a time.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import {
  MANIFEST_FILE,
  readManifest,
  TINY_DEFAULTS,
  WAN_1_3B_DEFAULTS,
  writeManifest,
  type GenerationDefaults,
  type Manifest,
} from "../manifest.ts";
import { recipeDefaults, recipeFromFileName } from "../../lib/engine/schedulers/distilled-recipes.ts";
import type { DistilledRecipe } from "../../lib/schemas/generation.ts";
import type { Precision } from "../nn.ts";
import type { WanDiTConfig } from "../wan/dit.ts";
import { ConvertProgress, type ConvertProgressEvent } from "./progress.ts";
import { convertImageEncoder } from "./image-encoder.ts";
import type { LoraSpec } from "./lora.ts";
import { describeKind, discoverSources, SourceError, type ComponentKind } from "./sources.ts";
import { convertTextEncoder } from "./text-encoder.ts";
import { convertTransformer } from "./transformer.ts";
import { convertVae } from "./vae.ts";

export type ConvertOptions = {
  source: string;
  outDir: string;
  precision: Precision;
  /** The text encoder's precision when it should differ (e.g. int8 to run umT5-XXL on a CPU with little RAM). */
  textPrecision?: Precision;
  /** The DiT's text length (Diffusers configs do not record it; official ones do). */
  textLen?: number;
  /** A folder with tokenizer.json, when the source has none (e.g. ComfyUI's umT5 file). */
  tokenizerDir?: string;
  /** Marks the built-in random-weight model. */
  tiny?: boolean;
  /**
   * The few-step recipe of a distilled DiT; default: recognised from the DiT file's name (rCM_*.pt), else none.
   * Kept from the folder's manifest when no DiT is converted.
   */
  recipe?: DistilledRecipe;
  /** LoRAs merged into the DiT's weights, in order (recorded in the manifest). */
  loras?: LoraSpec[];
  /** The model's name (default: the output folder's name). */
  name?: string;
  onProgress?: (e: ConvertProgressEvent) => void;
  log?: (line: string) => void;
};

export async function convertModel(o: ConvertOptions): Promise<Manifest> {
  const log = o.log ?? (() => {});
  const sources = await discoverSources(o.source);
  if (o.loras?.length && !sources.some((s) => s.kind === "transformer")) {
    throw new SourceError(`${o.source}: LoRAs merge into the DiT, and no DiT was found there`);
  }
  await mkdir(o.outDir, { recursive: true });
  const previous = existsSync(path.join(o.outDir, MANIFEST_FILE)) ? await readManifest(o.outDir) : undefined;
  const components: Manifest["components"] = { ...(previous?.components ?? {}) };
  const progress = new ConvertProgress(o.onProgress);
  const order: ComponentKind[] = ["transformer", "vae", "textEncoder", "imageEncoder"];
  const ditSource = sources.find((s) => s.kind === "transformer");
  const recipe = o.recipe ?? (ditSource ? recipeFromFileName(ditSource.files[0]) : (previous?.recipe ?? null));
  if (recipe) log(`distilled DiT: sampled with the ${recipe} recipe`);
  for (const kind of order) {
    const src = sources.find((s) => s.kind === kind);
    if (!src) continue;
    log(`${describeKind(kind)}: ${src.layout} layout, ${src.files.length} file${src.files.length > 1 ? "s" : ""}`);
    try {
      if (kind === "transformer") {
        components.transformer = await convertTransformer(src, o.outDir, {
          precision: o.precision,
          textLen: o.textLen,
          loras: o.loras,
          progress,
        });
      } else if (kind === "vae") {
        components.vae = await convertVae(src, o.outDir, { precision: o.precision, progress });
      } else if (kind === "textEncoder") {
        components.textEncoder = await convertTextEncoder(src, o.outDir, {
          precision: o.textPrecision ?? o.precision,
          tokenizerDir: o.tokenizerDir,
          progress,
        });
      } else {
        components.imageEncoder = await convertImageEncoder(src, o.outDir, { precision: o.precision, progress });
      }
    } catch (e) {
      // Name the files, so the user knows which of several sources is wrong.
      const where = src.files.length === 1 ? src.files[0] : path.dirname(src.files[0]);
      throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
    }
  }
  const dit = components.transformer?.config;
  const manifest: Manifest = {
    format: "wan-studio-model",
    version: 1,
    name: o.name ?? previous?.name ?? path.basename(path.resolve(o.outDir)),
    architecture: "wan2.1",
    variant: dit?.modelType ?? previous?.variant ?? "t2v",
    tiny: o.tiny ?? previous?.tiny ?? false,
    createdAt: new Date().toISOString(),
    // Relative when the source lives inside the model folder (the tiny model's), so moving the folder keeps it valid.
    source: insideOf(o.outDir, o.source) ? path.relative(path.resolve(o.outDir), path.resolve(o.source)) : path.resolve(o.source),
    textLen: dit?.textLen ?? previous?.textLen ?? 512,
    components,
    preview: previous?.preview ?? null,
    defaults: recipeOrBase(dit ? defaultsFor(dit, o.tiny ?? false) : (previous?.defaults ?? WAN_1_3B_DEFAULTS), recipe),
    recipe,
  };
  await writeManifest(o.outDir, manifest);
  return manifest;
}

/** Generation defaults by model size: the official advice for the 1.3B and 14B, small ones for toy models. */
export function defaultsFor(dit: Pick<WanDiTConfig, "dim" | "modelType">, tiny: boolean): GenerationDefaults {
  if (tiny || dit.dim < 1536) return TINY_DEFAULTS;
  if (dit.modelType === "i2v") {
    // Image-to-video at 480p: shift 3 (official generate.py, _validate_args; the Fun-InP example uses 50 steps, guidance 6).
    return { ...WAN_1_3B_DEFAULTS, steps: dit.dim === 1536 ? 50 : 40, guidance: dit.dim === 1536 ? 6 : 5, shift: 3 };
  }
  if (dit.dim >= 5120) {
    return {
      ...WAN_1_3B_DEFAULTS,
      width: 1280,
      height: 720,
      guidance: 5,
      shift: 5,
      sizes: [[1280, 720], [720, 1280], [832, 480], [480, 832]],
    };
  }
  return WAN_1_3B_DEFAULTS;
}

function recipeOrBase(defaults: GenerationDefaults, recipe: DistilledRecipe | null): GenerationDefaults {
  return recipe ? recipeDefaults(defaults, recipe) : defaults;
}

function insideOf(dir: string, p: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(p));
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}
