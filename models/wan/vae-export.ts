/**
 * Turns a Wan VAE checkpoint (a Diffusers `vae/` folder or one official-layout safetensors or `.pth` file)
 * into the six streaming graphs of vae.ts (first, per-frame and step graph per side), saved side by side
 * with ONE shared external-data file, so each weight is stored once although two graphs use it.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { GraphBuilder, type Initializer } from "../graph/builder.ts";
import { ExternalDataFile, saveGraph } from "../graph/save.ts";
import { Params } from "../nn.ts";
import { openTensorFile } from "../weights/open.ts";
import { WeightStore } from "../weights/store.ts";
import {
  buildVaeDecoderFirst,
  buildVaeDecoderFrame,
  buildVaeDecoderStep,
  buildVaeEncoderFirst,
  buildVaeEncoderFrame,
  buildVaeEncoderStep,
  type VaeGraphOptions,
} from "./vae.ts";
import type { WanVaeConfig } from "./vae-layout.ts";
import { isDiffusersVae, vaeConfigFromDiffusers, vaeConfigFromShapes, vaeKeyFromDiffusers } from "./vae-checkpoint.ts";

export type VaeGraphName = "encoderFirst" | "encoderFrame" | "encoderStep" | "decoderFirst" | "decoderStep" | "decoderFrame";
/**
 * A model folder's VAE graphs (manifest `vae.files`). The per-frame graphs are absent from folders converted
 * before the per-frame split: their step graphs are unsplit, which lib/engine/vae.ts still runs.
 */
export type VaeGraphFiles = Record<Exclude<VaeGraphName, "encoderFrame" | "decoderFrame">, string> &
  Partial<Record<"encoderFrame" | "decoderFrame", string>>;

export const VAE_GRAPH_FILES: Required<VaeGraphFiles> = {
  encoderFirst: "vae_encoder_first.onnx",
  encoderFrame: "vae_encoder_frame.onnx",
  encoderStep: "vae_encoder_step.onnx",
  decoderFirst: "vae_decoder_first.onnx",
  decoderStep: "vae_decoder_step.onnx",
  decoderFrame: "vae_decoder_frame.onnx",
};
export const VAE_DATA_FILE = "vae.onnx.data";

export type VaeCheckpoint = { store: WeightStore; config: WanVaeConfig; layout: "diffusers" | "official" };

/**
 * Opens a VAE checkpoint: a folder (Diffusers: config.json + safetensors shards) or a single safetensors or
 * `.pth` file in either naming. Without config.json the configuration is inferred from the shapes (official names).
 */
export async function openVaeCheckpoint(source: string): Promise<VaeCheckpoint> {
  const isDir = (await stat(source)).isDirectory();
  const files = isDir
    ? (await readdir(source)).filter((f) => f.endsWith(".safetensors")).sort().map((f) => path.join(source, f))
    : [source];
  if (!files.length) throw new Error(`${source}: no .safetensors file`);
  const json = isDir ? await readJson(path.join(source, "config.json")) : undefined;
  const names: string[] = [];
  for (const f of files) {
    const file = await openTensorFile(f);
    names.push(...file.tensors.keys());
    await file.close();
  }
  const layout = isDiffusersVae(names) ? "diffusers" : "official";
  const diffusersConfig = layout === "diffusers" && json ? vaeConfigFromDiffusers(json) : undefined;
  const numResBlocks = diffusersConfig?.numResBlocks ?? 2;
  const store = await WeightStore.open("vae", files, layout === "diffusers" ? (k) => vaeKeyFromDiffusers(k, numResBlocks) : undefined);
  try {
    const config =
      diffusersConfig ?? vaeConfigFromShapes((k) => (store.has(k) ? store.info(k).shape : undefined), store.keys());
    return { store, config, layout };
  } catch (e) {
    await store.close();
    throw e;
  }
}

/**
 * Builds the six graphs (four with `perFrame: false`: the unsplit first and step graphs). With `parts` only
 * the encoder or decoder graphs are built; the check that every checkpoint tensor was used (naming any
 * unexpected one) runs when both are.
 */
export function buildVaeGraphs(
  store: WeightStore,
  cfg: WanVaeConfig,
  opts: VaeGraphOptions & { parts?: ("encoder" | "decoder")[] } = {},
): Partial<Record<VaeGraphName, GraphBuilder>> {
  const parts = opts.parts ?? ["encoder", "decoder"];
  const graphs: Partial<Record<VaeGraphName, GraphBuilder>> = {};
  const build = (name: VaeGraphName, fn: typeof buildVaeEncoderFirst) => {
    const g = new GraphBuilder(`wan_vae_${name}`);
    fn(g, new Params(g, store, "", "fp32"), cfg, opts);
    graphs[name] = g;
  };
  const perFrame = opts.perFrame ?? true;
  if (parts.includes("encoder")) {
    build("encoderFirst", buildVaeEncoderFirst);
    if (perFrame) build("encoderFrame", buildVaeEncoderFrame);
    build("encoderStep", buildVaeEncoderStep);
  }
  if (parts.includes("decoder")) {
    build("decoderFirst", buildVaeDecoderFirst);
    build("decoderStep", buildVaeDecoderStep);
    if (perFrame) build("decoderFrame", buildVaeDecoderFrame);
  }
  if (parts.includes("encoder") && parts.includes("decoder")) store.assertAllUsed();
  return graphs;
}

/** Saves the graphs into `dir` with one shared data file; returns the file of each graph. */
export async function saveVaeGraphs(
  graphs: Partial<Record<VaeGraphName, GraphBuilder>>,
  dir: string,
  files: Required<VaeGraphFiles> = VAE_GRAPH_FILES,
  onInitializer?: (init: Initializer) => void,
): Promise<Partial<VaeGraphFiles>> {
  const data = new ExternalDataFile(dir, VAE_DATA_FILE);
  const saved: Partial<VaeGraphFiles> = {};
  try {
    for (const [name, g] of Object.entries(graphs) as [VaeGraphName, GraphBuilder][]) {
      await saveGraph(g, { dir, file: files[name], data, onInitializer, docString: `Wan 2.1 VAE ${name} (streaming, official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode)` });
      saved[name] = files[name];
    }
  } finally {
    await data.close();
  }
  return saved;
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}
