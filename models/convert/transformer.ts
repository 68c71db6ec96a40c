/**
 * Converts a Wan DiT checkpoint (Diffusers or official / ComfyUI layout) into `transformer.onnx`.
 */
import { GraphBuilder } from "../graph/builder.ts";
import { saveGraph } from "../graph/save.ts";
import type { ditConfigSchema } from "../manifest.ts";
import { Params, type Precision } from "../nn.ts";
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
import type { ConvertProgress } from "./progress.ts";
import type { ComponentSource } from "./sources.ts";

export const TRANSFORMER_FILE = "transformer.onnx";

export type TransformerEntry = { file: string; precision: Precision; config: z.infer<typeof ditConfigSchema> };

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
  opts: { precision: Precision; textLen?: number; progress?: ConvertProgress },
): Promise<TransformerEntry> {
  const store = await openTransformerWeights(src);
  try {
    const cfg = transformerConfig(src, store, opts.textLen);
    const g = new GraphBuilder("wan_dit");
    buildWanDiT(g, new Params(g, store, "", opts.precision), cfg);
    store.assertAllUsed();
    opts.progress?.addTotal([...g.initializers.values()].reduce((a, i) => a + i.byteLength, 0));
    await saveGraph(g, {
      dir: outDir,
      file: TRANSFORMER_FILE,
      docString: `Wan 2.1 DiT (${cfg.modelType}, dim ${cfg.dim}, ${cfg.numLayers} layers, ${opts.precision})`,
      onInitializer: (init) => opts.progress?.advance(init.byteLength, "transformer"),
    });
    return { file: TRANSFORMER_FILE, precision: opts.precision, config: cfg };
  } finally {
    await store.close();
  }
}
