/**
 * Converts a Wan DiT checkpoint (Diffusers or official / ComfyUI layout) into `transformer.onnx` (the whole
 * forward) and the three stage graphs step caching runs (embedding, blocks, head; models/wan/dit.ts), all four
 * sharing one data file so each weight is stored once; any LoRAs are merged into the weights as they are read
 * (models/convert/lora.ts).
 */
import type { ditConfigSchema, MergedLora } from "../manifest.ts";
import type { Precision } from "../nn.ts";
import { GraphBuilder } from "../graph/builder.ts";
import { ExternalDataFile, saveGraph } from "../graph/save.ts";
import { Params } from "../nn.ts";
import { buildWanDiT, buildWanDiTBlocks, buildWanDiTEmbedding, buildWanDiTHead, type WanDiTConfig } from "../wan/dit.ts";
import {
  ditConfigFromDiffusers,
  ditConfigFromOfficial,
  ditConfigFromShapes,
  ditKeyFromDiffusers,
  stripComfyPrefix,
} from "../wan/dit-checkpoint.ts";
import { WeightStore, type Weights } from "../weights/store.ts";
import type { z } from "zod";
import { attachLoras, type LoraSpec } from "./lora.ts";
import type { ConvertProgress } from "./progress.ts";
import type { ComponentSource } from "./sources.ts";

export const TRANSFORMER_FILE = "transformer.onnx";
export const TRANSFORMER_DATA_FILE = "transformer.onnx.data";
/** The stage graphs (manifest `transformer.stages`); folders converted before the split have none. */
export const TRANSFORMER_STAGE_FILES = {
  embedding: "transformer_embedding.onnx",
  blocks: "transformer_blocks.onnx",
  head: "transformer_head.onnx",
} as const;

export type TransformerEntry = {
  file: string;
  stages: typeof TRANSFORMER_STAGE_FILES;
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
    const graphs = buildTransformerGraphs(store, cfg, opts.precision);
    // The whole graph reads every weight, so a leftover means the file is not the architecture it was taken for.
    store.assertAllUsed();
    await saveTransformerGraphs(graphs, outDir, opts.progress);
    return {
      file: TRANSFORMER_FILE,
      stages: TRANSFORMER_STAGE_FILES,
      precision: opts.precision,
      config: cfg,
      ...(loras.merged.length ? { loras: loras.merged } : {}),
    };
  } finally {
    await closeLoras();
    await store.close();
  }
}

type TransformerGraph = { file: string; g: GraphBuilder; doc: string };

/** The whole graph and the three stage graphs, built on one weight source. */
export function buildTransformerGraphs(weights: Weights, cfg: WanDiTConfig, precision: Precision): TransformerGraph[] {
  const label = `Wan 2.1 DiT (${cfg.modelType}, dim ${cfg.dim}, ${cfg.numLayers} layers, ${precision})`;
  return [
    { file: TRANSFORMER_FILE, build: buildWanDiT, doc: label },
    { file: TRANSFORMER_STAGE_FILES.embedding, build: buildWanDiTEmbedding, doc: `${label}: embedding stage` },
    { file: TRANSFORMER_STAGE_FILES.blocks, build: buildWanDiTBlocks, doc: `${label}: blocks stage` },
    { file: TRANSFORMER_STAGE_FILES.head, build: buildWanDiTHead, doc: `${label}: head stage` },
  ].map(({ file, build, doc }) => {
    const g = new GraphBuilder("wan_dit");
    build(g, new Params(g, weights, "", precision), cfg);
    return { file, g, doc };
  });
}

/** Writes the graphs into `outDir` with one shared data file, each weight once. */
export async function saveTransformerGraphs(graphs: TransformerGraph[], outDir: string, progress?: ConvertProgress): Promise<void> {
  // Weights shared by several graphs are written once; count each once for the progress total.
  const sizes = new Map<string, number>();
  for (const { g } of graphs) for (const init of g.initializers.values()) if (init.shared) sizes.set(init.name, init.byteLength);
  progress?.addTotal([...sizes.values()].reduce((a, b) => a + b, 0));
  const counted = new Set<string>();
  const data = new ExternalDataFile(outDir, TRANSFORMER_DATA_FILE);
  try {
    for (const { file, g, doc } of graphs) {
      await saveGraph(g, {
        dir: outDir,
        file,
        data,
        docString: doc,
        onInitializer: (init) => {
          if (!init.shared || counted.has(init.name)) return;
          counted.add(init.name);
          progress?.advance(init.byteLength, "transformer");
        },
      });
    }
  } finally {
    await data.close();
  }
}
