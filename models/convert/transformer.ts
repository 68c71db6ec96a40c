/**
 * Converts a Wan DiT checkpoint (Diffusers or official / ComfyUI layout) into `transformer.onnx`, with any
 * LoRAs merged into its weights (models/convert/lora.ts).
 */
import type { ditConfigSchema, MergedLora } from "../manifest.ts";
import type { Precision } from "../nn.ts";
import { buildWanDiT, type WanDiTConfig } from "../wan/dit.ts";
import {
  ditConfigFromDiffusers,
  ditConfigFromOfficial,
  ditConfigFromShapes,
  ditKeyFromDiffusers,
  stripComfyPrefix,
} from "../wan/dit-checkpoint.ts";
import { WeightStore } from "../weights/store.ts";
import type { z } from "zod";
import { buildAndSaveGraph } from "./component-graph.ts";
import { attachLoras, type LoraSpec } from "./lora.ts";
import type { ConvertProgress } from "./progress.ts";
import type { ComponentSource } from "./sources.ts";

export const TRANSFORMER_FILE = "transformer.onnx";

export type TransformerEntry = {
  file: string;
  precision: Precision;
  config: z.infer<typeof ditConfigSchema>;
  loras?: MergedLora[];
};

export async function openTransformerWeights(src: ComponentSource): Promise<WeightStore> {
  const rename =
    src.layout === "diffusers" ? (k: string) => ditKeyFromDiffusers(k) : (k: string) => stripComfyPrefix(k);
  return WeightStore.open("transformer", src.files, rename);
}

/** The DiT configuration: config.json when present (either format), else inferred from tensor shapes. */
export function transformerConfig(src: ComponentSource, store: WeightStore, textLen?: number): WanDiTConfig {
  let cfg: WanDiTConfig;
  if (src.config && src.layout === "diffusers") {
    cfg = ditConfigFromDiffusers(src.config, textLen ?? 512);
  } else if (src.config) {
    cfg = ditConfigFromOfficial(src.config);
  } else {
    cfg = ditConfigFromShapes((k) => (store.has(k) ? store.info(k).shape : undefined), store.keys());
  }
  if (textLen !== undefined) cfg = { ...cfg, textLen };
  if (cfg.modelType === "i2v" && cfg.textLen !== 512) {
    // The official image cross-attention splits the context at length − 512 (fixtures README).
    throw new Error(`an image-to-video DiT needs text length 512 (got ${cfg.textLen})`);
  }
  return cfg;
}

export async function convertTransformer(
  src: ComponentSource,
  outDir: string,
  opts: { precision: Precision; textLen?: number; loras?: LoraSpec[]; progress?: ConvertProgress },
): Promise<TransformerEntry> {
  const store = await openTransformerWeights(src);
  let closeLoras = async () => {};
  try {
    const loras = await attachLoras(store, opts.loras ?? []);
    closeLoras = loras.close;
    const cfg = transformerConfig(src, store, opts.textLen);
    await buildAndSaveGraph(store, {
      graphName: "wan_dit",
      outDir,
      file: TRANSFORMER_FILE,
      docString: `Wan 2.1 DiT (${cfg.modelType}, dim ${cfg.dim}, ${cfg.numLayers} layers, ${opts.precision})`,
      precision: opts.precision,
      component: "transformer",
      progress: opts.progress,
      build: (g, params) => buildWanDiT(g, params, cfg),
    });
    return {
      file: TRANSFORMER_FILE,
      precision: opts.precision,
      config: cfg,
      ...(loras.merged.length ? { loras: loras.merged } : {}),
    };
  } finally {
    await closeLoras();
    await store.close();
  }
}
