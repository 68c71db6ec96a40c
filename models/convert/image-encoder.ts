/**
 * Converts the CLIP vision tower of an image-to-video model (official Wan `visual.*` or Hugging Face
 * `vision_model.*` layout) into `image_encoder.onnx` (reference §6.1 step 3).
 */
import { GraphBuilder } from "../graph/builder.ts";
import { saveGraph } from "../graph/save.ts";
import { buildClipVision, clipTokens, type ClipVisionConfig } from "../clip.ts";
import { clipConfig, openClipWeights } from "../clip-checkpoint.ts";
import { Params, type Precision } from "../nn.ts";
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
    const g = new GraphBuilder("clip_vision");
    buildClipVision(g, new Params(g, weights, "", opts.precision), cfg);
    weights.assertAllUsed();
    opts.progress?.addTotal([...g.initializers.values()].reduce((a, i) => a + i.byteLength, 0));
    await saveGraph(g, {
      dir: outDir,
      file: IMAGE_ENCODER_FILE,
      docString: `CLIP ViT vision tower (width ${cfg.dim}, ${cfg.numLayers - 1} of ${cfg.numLayers} blocks, ${clipTokens(cfg)} tokens, ${opts.precision})`,
      onInitializer: (init) => opts.progress?.advance(init.byteLength, "image encoder"),
    });
    return { file: IMAGE_ENCODER_FILE, precision: opts.precision, config: cfg };
  } finally {
    await weights.close();
  }
}
