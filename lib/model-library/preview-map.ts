/**
 * Gives a converted model its latent → RGB preview map: solid colour patches over the RGB cube are encoded
 * with the model's own VAE encoder (frame 0 alone, and a 4-frame chunk, since the causal encoder treats them
 * differently), and an affine map from the normalised latent to the colour is fitted by least squares
 * (lib/video/preview-fit.ts). Stored in the manifest, it makes previews match this model's VAE.
 */
import { readManifest, writeManifest, type Manifest } from "../../models/manifest.ts";
import { resolveRuntime } from "../engine/runtime.ts";
import { createVaeSessions, encodeVideo, releaseVaeSessions } from "../engine/vae.ts";
import { fitPreviewProjection, type PreviewSample } from "../video/preview-fit.ts";

/** Levels per colour axis: 5³ = 125 colours, greys and primaries included. */
const LEVELS = [0, 64, 128, 192, 255];
const PATCH = 16;
const FRAMES = 5;

export async function fitModelPreview(modelDir: string, log: (line: string) => void = () => {}): Promise<Manifest> {
  const manifest = await readManifest(modelDir);
  const vae = manifest.components.vae;
  if (!vae) return manifest;
  const runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: 0 });
  const sessions = await createVaeSessions(modelDir, vae.files, runtime);
  const samples: PreviewSample[] = [];
  try {
    for (const r of LEVELS) {
      for (const g of LEVELS) {
        for (const b of LEVELS) {
          const rgb = [r, g, b];
          const video = new Float32Array(3 * FRAMES * PATCH * PATCH);
          for (let c = 0; c < 3; c++) video.fill(rgb[c] / 127.5 - 1, c * FRAMES * PATCH * PATCH, (c + 1) * FRAMES * PATCH * PATCH);
          const latent = await encodeVideo(sessions, video, FRAMES, PATCH, PATCH);
          const cells = (PATCH / vae.scaleSpatial) ** 2;
          const latentFrames = latent.length / vae.zDim / cells;
          for (let f = 0; f < latentFrames; f++) {
            const z = new Array<number>(vae.zDim).fill(0);
            for (let c = 0; c < vae.zDim; c++) {
              for (let k = 0; k < cells; k++) z[c] += latent[(c * latentFrames + f) * cells + k] / cells;
            }
            samples.push({ latent: z, rgb });
          }
        }
      }
    }
  } finally {
    await releaseVaeSessions(sessions);
  }
  const fit = fitPreviewProjection(samples);
  log(`made the colour map for live previews (they are approximate: colours off by about ${Math.round(fit.rmsError)} of 255)`);
  const updated: Manifest = { ...manifest, preview: { weights: fit.weights, bias: fit.bias } };
  await writeManifest(modelDir, updated);
  return updated;
}
