/**
 * Converts the umT5 encoder (Hugging Face / Diffusers / ComfyUI names, or official names) into
 * `text_encoder.onnx`, and copies the tokenizer files beside it when the source has them.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import type { Precision } from "../nn.ts";
import { buildUMT5Encoder, type UMT5Config } from "../umt5.ts";
import { openUMT5Weights, umt5Config } from "../umt5-checkpoint.ts";
import { buildAndSaveGraph } from "./component-graph.ts";
import type { ConvertProgress } from "./progress.ts";
import type { ComponentSource } from "./sources.ts";

export const TEXT_ENCODER_FILE = "text_encoder.onnx";
export const TOKENIZER_DIR = "tokenizer";
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "spiece.model"];

export type TextEncoderEntry = { file: string; precision: Precision; tokenizer: string | null; config: UMT5Config };

export async function convertTextEncoder(
  src: ComponentSource,
  outDir: string,
  opts: { precision: Precision; tokenizerDir?: string | null; progress?: ConvertProgress },
): Promise<TextEncoderEntry> {
  const store = await openUMT5Weights(src.files);
  let cfg: UMT5Config;
  try {
    const config = umt5Config(store, src.config);
    cfg = config;
    await buildAndSaveGraph(store, {
      graphName: "umt5_encoder",
      outDir,
      file: TEXT_ENCODER_FILE,
      docString: `umT5 encoder (d_model ${config.dModel}, ${config.numLayers} layers, ${opts.precision})`,
      precision: opts.precision,
      component: "text encoder",
      progress: opts.progress,
      build: (g, params) => buildUMT5Encoder(g, params, config),
    });
  } finally {
    await store.close();
  }
  const tokenizerSource = opts.tokenizerDir ?? src.tokenizerDir;
  let tokenizer: string | null = null;
  if (tokenizerSource) {
    if (!existsSync(path.join(tokenizerSource, "tokenizer.json"))) {
      throw new Error(`${tokenizerSource}: no tokenizer.json there`);
    }
    await mkdir(path.join(outDir, TOKENIZER_DIR), { recursive: true });
    for (const f of TOKENIZER_FILES) {
      if (existsSync(path.join(tokenizerSource, f))) await copyFile(path.join(tokenizerSource, f), path.join(outDir, TOKENIZER_DIR, f));
    }
    tokenizer = TOKENIZER_DIR;
  }
  return { file: TEXT_ENCODER_FILE, precision: opts.precision, tokenizer, config: cfg };
}
