/**
 * Finds the model components in what the user points the converter at: a Diffusers pipeline folder
 * (model_index.json + one folder per component), one Diffusers component folder (config.json + single or
 * sharded safetensors), a single official / ComfyUI file (safetensors, or a PyTorch `.pth` as Wan-AI ships
 * its VAE, umT5 and CLIP), or a folder of such files (a ComfyUI `models/` tree, or the official release
 * folder), recognising each file's component from its tensor names.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { isWeightFile, openTensorFile } from "../weights/open.ts";
import { stripComfyPrefix } from "../wan/dit-checkpoint.ts";

export type ComponentKind = "transformer" | "vae" | "textEncoder" | "imageEncoder";
export type Layout = "diffusers" | "official";

export type ComponentSource = {
  kind: ComponentKind;
  layout: Layout;
  /** The weight files (several for a sharded checkpoint). */
  files: string[];
  /** The component's config.json, when there is one that describes it. */
  config: Record<string, unknown> | null;
  configPath: string | null;
  /** A folder holding tokenizer.json for the text encoder, when one was found. */
  tokenizerDir: string | null;
};

export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SourceError";
  }
}

const KIND_LABEL: Record<ComponentKind, string> = {
  transformer: "DiT (transformer)",
  vae: "VAE",
  textEncoder: "umT5 text encoder",
  imageEncoder: "CLIP image encoder",
};

export function describeKind(kind: ComponentKind): string {
  return KIND_LABEL[kind];
}

/** Recognises a component and its layout from tensor names (docs/model-notes.md#checkpoint-layouts). */
export function recognise(names: string[]): { kind: ComponentKind; layout: Layout } | undefined {
  const has = (n: string) => names.includes(n);
  const stripped = names.map(stripComfyPrefix);
  if (stripped.includes("head.modulation") && stripped.includes("patch_embedding.weight")) return { kind: "transformer", layout: "official" };
  if (has("scale_shift_table") && has("condition_embedder.time_proj.weight")) return { kind: "transformer", layout: "diffusers" };
  if (has("decoder.conv_in.weight") && has("post_quant_conv.weight")) return { kind: "vae", layout: "diffusers" };
  if (has("decoder.conv1.weight") && has("conv2.weight") && has("encoder.conv1.weight")) return { kind: "vae", layout: "official" };
  if (has("encoder.block.0.layer.0.SelfAttention.q.weight")) return { kind: "textEncoder", layout: "diffusers" };
  if (has("token_embedding.weight") && has("blocks.0.attn.q.weight")) return { kind: "textEncoder", layout: "official" };
  if (has("vision_model.embeddings.patch_embedding.weight")) return { kind: "imageEncoder", layout: "diffusers" };
  if (names.some((n) => n.startsWith("visual.")) && names.some((n) => /^visual\.(conv1|patch_embedding)/.test(n))) {
    return { kind: "imageEncoder", layout: "official" };
  }
  return undefined;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new SourceError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

async function tensorNames(file: string): Promise<string[]> {
  const f = await openTensorFile(file);
  try {
    return [...f.tensors.keys()];
  } finally {
    await f.close();
  }
}

const DIFFUSERS_FOLDERS: Record<string, ComponentKind> = {
  transformer: "transformer",
  vae: "vae",
  text_encoder: "textEncoder",
  image_encoder: "imageEncoder",
};

/** The weight files of a Diffusers/HF component folder: the shards of an index, or its safetensors files. */
async function componentFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir);
  const index = entries.find((e) => e.endsWith(".safetensors.index.json"));
  if (index) {
    const json = await readJson(path.join(dir, index));
    const map = json.weight_map as Record<string, string> | undefined;
    if (!map) throw new SourceError(`${path.join(dir, index)}: no weight_map`);
    const shards = [...new Set(Object.values(map))].map((f) => path.join(dir, f));
    for (const s of shards) {
      if (!existsSync(s)) throw new SourceError(`${path.join(dir, index)} names ${path.basename(s)}, which is missing`);
    }
    return shards;
  }
  const files = entries.filter((e) => e.endsWith(".safetensors")).sort();
  if (!files.length) throw new SourceError(`${dir}: no .safetensors weights found`);
  return files.map((f) => path.join(dir, f));
}

async function fromComponentFolder(dir: string, kindHint?: ComponentKind): Promise<ComponentSource> {
  const files = await componentFiles(dir);
  const configPath = existsSync(path.join(dir, "config.json")) ? path.join(dir, "config.json") : null;
  const names = (await Promise.all(files.map(tensorNames))).flat();
  const found = recognise(names);
  if (!found) throw new SourceError(`${dir}: the tensors do not look like a Wan 2.1 ${kindHint ? describeKind(kindHint) : "component"}`);
  if (kindHint && found.kind !== kindHint) {
    throw new SourceError(`${dir}: expected a ${describeKind(kindHint)}, but the tensors are a ${describeKind(found.kind)}`);
  }
  return {
    ...found,
    files,
    config: configPath ? await readJson(configPath) : null,
    configPath,
    tokenizerDir: null,
  };
}

/** Official single files: a DiT may have the official `WanModel` config.json beside it (docs/model-notes.md#checkpoint-layouts). */
async function fromSingleFile(file: string): Promise<ComponentSource> {
  const found = recognise(await tensorNames(file));
  if (!found) {
    throw new SourceError(
      `${file}: not a Wan 2.1 DiT, VAE, umT5 text encoder or CLIP image encoder (its tensor names match none of them)`,
    );
  }
  let config: Record<string, unknown> | null = null;
  let configPath: string | null = null;
  const beside = path.join(path.dirname(file), "config.json");
  if (found.kind === "transformer" && existsSync(beside)) {
    const json = await readJson(beside);
    if (typeof json.dim === "number" && typeof json.num_heads === "number") {
      config = json;
      configPath = beside;
    }
  }
  return { ...found, files: [file], config, configPath, tokenizerDir: null };
}

async function walk(dir: string, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Every component found at `source`, at most one of each kind. */
export async function discoverSources(source: string): Promise<ComponentSource[]> {
  let st;
  try {
    st = await stat(source);
  } catch {
    throw new SourceError(`${source}: no such file or folder`);
  }
  if (st.isFile()) {
    if (!isWeightFile(source)) throw new SourceError(`${source}: expected a .safetensors, .pth or .pt file, or a folder`);
    return [await fromSingleFile(source)];
  }

  // A Diffusers pipeline: model_index.json and one folder per component.
  if (existsSync(path.join(source, "model_index.json"))) {
    const sources: ComponentSource[] = [];
    for (const [folder, kind] of Object.entries(DIFFUSERS_FOLDERS)) {
      const dir = path.join(source, folder);
      if (existsSync(dir)) sources.push(await fromComponentFolder(dir, kind));
    }
    const tokenizerDir = path.join(source, "tokenizer");
    const text = sources.find((s) => s.kind === "textEncoder");
    if (text && existsSync(path.join(tokenizerDir, "tokenizer.json"))) text.tokenizerDir = tokenizerDir;
    if (!sources.length) throw new SourceError(`${source}: model_index.json but no component folders`);
    return sources;
  }

  // One Diffusers/HF component folder.
  if (existsSync(path.join(source, "config.json"))) {
    const json = await readJson(path.join(source, "config.json"));
    const isDiffusersConfig = typeof json._class_name === "string" && json._class_name !== "WanModel";
    if (isDiffusersConfig || Array.isArray(json.architectures)) {
      const found = await fromComponentFolder(source);
      if (found.kind === "textEncoder" && existsSync(path.join(source, "tokenizer.json"))) found.tokenizerDir = source;
      return [found];
    }
  }

  // A folder of single files (ComfyUI models/ tree, or the official release folder).
  // safetensors first: a `.pth` is taken only for a component no safetensors file provides, so a folder
  // holding both forms of one component (as the test fixtures do) is not ambiguous.
  const all = await walk(source);
  const isSafetensors = (f: string) => f.endsWith(".safetensors");
  const candidates = [...all.filter(isSafetensors).sort(), ...all.filter((f) => isWeightFile(f) && !isSafetensors(f)).sort()];
  const sources: ComponentSource[] = [];
  for (const file of candidates) {
    const names = await tensorNames(file).catch(() => undefined);
    if (!names || !recognise(names)) continue;
    const found = await fromSingleFile(file);
    if (!isSafetensors(file) && sources.some((s) => s.kind === found.kind && isSafetensors(s.files[0]))) continue;
    const clash = sources.find((s) => s.kind === found.kind);
    if (clash) {
      throw new SourceError(
        `${source}: found two ${describeKind(found.kind)} files (${clash.files[0]} and ${file}); convert one at a time by passing the file`,
      );
    }
    sources.push(found);
  }
  if (!sources.length) throw new SourceError(`${source}: no Wan 2.1 weights found (looked for .safetensors, .pth and .pt files)`);
  // An I2V release folder also holds xlm-roberta-large/ (CLIP's text tower, unused): take umT5's tokenizer.
  const tokenizers = all.filter((f) => path.basename(f) === "tokenizer.json").sort();
  const tokenizer = tokenizers.find((f) => /umt5/i.test(f)) ?? tokenizers[0];
  const text = sources.find((s) => s.kind === "textEncoder");
  if (text && tokenizer) text.tokenizerDir = path.dirname(tokenizer);
  return sources;
}
