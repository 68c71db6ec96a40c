/**
 * Converts a Wan VAE checkpoint (Diffusers `AutoencoderKLWan` or the official / ComfyUI file) into its six
 * streaming graphs (per side: first chunk, per-frame part, step; models/wan/vae.ts) sharing one data file.
 *
 * The VAE always runs in float32, as the official code does (docs/model-notes.md#numerics) and as Diffusers
 * recommends; a `--dtype fp16` conversion keeps it that way.
 */
import type { Precision } from "../nn.ts";
import { vaeSpatialScale, VAE_CHUNK_FRAMES, type WanVaeConfig } from "../wan/vae-layout.ts";
import { vaeConfigFromDiffusers, vaeConfigFromOfficial, vaeConfigFromShapes, vaeKeyFromDiffusers } from "../wan/vae-checkpoint.ts";
import { buildVaeGraphs, saveVaeGraphs, VAE_GRAPH_FILES, type VaeGraphFiles } from "../wan/vae-export.ts";
import { WeightStore } from "../weights/store.ts";
import type { ConvertProgress } from "./progress.ts";
import type { ComponentSource } from "./sources.ts";

export type VaeEntry = {
  files: VaeGraphFiles;
  precision: Precision;
  zDim: number;
  scaleSpatial: number;
  scaleTemporal: number;
  latentsMean: number[];
  latentsStd: number[];
  config: WanVaeConfig;
};

function vaeConfig(src: ComponentSource, store: WeightStore): WanVaeConfig {
  if (src.config && src.layout === "diffusers") return vaeConfigFromDiffusers(src.config);
  if (src.config) return vaeConfigFromOfficial(src.config);
  return vaeConfigFromShapes((k) => (store.has(k) ? store.info(k).shape : undefined), store.keys());
}

export async function convertVae(
  src: ComponentSource,
  outDir: string,
  opts: { precision: Precision; progress?: ConvertProgress },
): Promise<VaeEntry> {
  const numResBlocks = src.config && typeof src.config.num_res_blocks === "number" ? src.config.num_res_blocks : 2;
  const rename = src.layout === "diffusers" ? (k: string) => vaeKeyFromDiffusers(k, numResBlocks) : undefined;
  const store = await WeightStore.open("vae", src.files, rename);
  try {
    const cfg = vaeConfig(src, store);
    const graphs = buildVaeGraphs(store, cfg);
    // Weights shared by two graphs are written once; count each once for the progress total.
    const sizes = new Map<string, number>();
    for (const g of Object.values(graphs)) for (const init of g!.initializers.values()) sizes.set(init.name, init.byteLength);
    opts.progress?.addTotal([...sizes.values()].reduce((a, b) => a + b, 0));
    const seen = new Set<string>();
    await saveVaeGraphs(graphs, outDir, VAE_GRAPH_FILES, (init) => {
      if (seen.has(init.name)) return;
      seen.add(init.name);
      opts.progress?.advance(init.byteLength, "vae");
    });
    return {
      files: VAE_GRAPH_FILES,
      precision: "fp32",
      zDim: cfg.zDim,
      scaleSpatial: vaeSpatialScale(cfg),
      scaleTemporal: VAE_CHUNK_FRAMES,
      latentsMean: cfg.latentsMean,
      latentsStd: cfg.latentsStd,
      config: cfg,
    };
  } finally {
    await store.close();
  }
}
