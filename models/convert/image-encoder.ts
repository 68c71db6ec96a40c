/**
 * Converts the CLIP vision tower of an image-to-video model (official Wan `visual.*` or Hugging Face
 * `vision_model.*` layout) into `image_encoder.onnx` (official wan/modules/clip.py, CLIPModel.visual).
 */
import { buildClipVision, clipTokens, type ClipVisionConfig } from "../clip.ts";
import { clipConfig, openClipWeights } from "../clip-checkpoint.ts";
import type { Precision } from "../nn.ts";
import { buildAndSaveGraph } from "./component-graph.ts";
import type { ConvertProgress } from "./progress.ts";
import type { ComponentSource } from "./sources.ts";

export const IMAGE_ENCODER_FILE = "image_encoder.onnx";

export type ImageEncoderEntry = { file: string; precision: Precision; config: ClipVisionConfig };

export async function convertImageEncoder(
  src: ComponentSource,
  outDir: string,
  opts: { precision: Precision; progress?: ConvertProgress },
): Promise<ImageEncoderEntry> {
  const weights = await openClipWeights(src.files, src.layout);
  try {
    const cfg = clipConfig(weights, src.config);
    await buildAndSaveGraph(weights, {
      graphName: "clip_vision",
      outDir,
      file: IMAGE_ENCODER_FILE,
      docString: `CLIP ViT vision tower (width ${cfg.dim}, ${cfg.numLayers - 1} of ${cfg.numLayers} blocks, ${clipTokens(cfg)} tokens, ${opts.precision})`,
      precision: opts.precision,
      component: "image encoder",
      progress: opts.progress,
      build: (g, params) => buildClipVision(g, params, cfg),
    });
    return { file: IMAGE_ENCODER_FILE, precision: opts.precision, config: cfg };
  } finally {
    await weights.close();
  }
}
