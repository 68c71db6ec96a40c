/**
 * The GPU memory a generation needs, part by part, from the tensor sizes of the real architecture: what the
 * README's 8 GB table shows and `npm run bench -- --only gpu-budget` prints, and what a scheduler can use to
 * tell whether a job fits a card. Weights are exact (the graphs are built against a recording weight source
 * and their initializers summed); activations are the largest set of tensors alive at once in a DiT block or
 * a VAE frame, an estimate a measured peak on a real card can confirm (docs/gpu.md says how).
 */
import { GraphBuilder } from "../../models/graph/builder.ts";
import { QUERY_CHUNKS } from "../../models/graph/chunked-attention.ts";
import { Params, type Precision } from "../../models/nn.ts";
import { buildWanDiT, WAN21_T2V_1_3B, type WanDiTConfig } from "../../models/wan/dit.ts";
import { buildVaeGraphs } from "../../models/wan/vae-export.ts";
import { decoderDims, vaeCacheValues, WAN21_VAE_CONFIG } from "../../models/wan/vae-layout.ts";
import { RecordingWeights } from "../../models/weights/recording.ts";
import type { WeightStore } from "../../models/weights/store.ts";

export type BudgetRow = { part: string; bytes: number; note: string };

export type BudgetInput = {
  width: number;
  height: number;
  frames: number;
  /** Precision of the DiT graph (the VAE runs in fp32). */
  precision: Precision;
  /** 2 when classifier-free guidance batches the conditional and unconditional passes. */
  batch: number;
  dit?: WanDiTConfig;
};

export type Budget = {
  rows: BudgetRow[];
  /** Both models' weights plus the larger of the denoising and the decoding working sets. */
  peakBytes: number;
  denoiseBytes: number;
  decodeBytes: number;
};

const weightBytes = (g: GraphBuilder) => [...g.initializers.values()].reduce((a, i) => a + i.byteLength, 0);

export function ditWeightBytes(cfg: WanDiTConfig, precision: Precision): number {
  const g = new GraphBuilder("budget");
  buildWanDiT(g, new Params(g, new RecordingWeights("transformer"), "", precision), cfg);
  return weightBytes(g);
}

export function vaeDecoderWeightBytes(): number {
  const graphs = buildVaeGraphs(new RecordingWeights("vae") as unknown as WeightStore, WAN21_VAE_CONFIG, { parts: ["decoder"] });
  // The decoder graphs share one weights file: count each weight once.
  const seen = new Map<string, number>();
  for (const g of Object.values(graphs)) for (const i of g!.initializers.values()) if (i.shared) seen.set(i.name, i.byteLength);
  return [...seen.values()].reduce((a, b) => a + b, 0);
}

export function gpuMemoryBudget(o: BudgetInput): Budget {
  const cfg = o.dit ?? WAN21_T2V_1_3B;
  const half = o.precision === "fp16" ? 2 : 4;
  const [pt, ph, pw] = cfg.patchSize;
  const latentFrames = 1 + Math.floor((o.frames - 1) / 4);
  const [h, w] = [o.height / 8, o.width / 8];
  const tokens = (latentFrames / pt) * (h / ph) * (w / pw);
  const { dim: D, ffnDim: F, numHeads: N, textLen } = cfg;
  const B = o.batch;

  const ditWeights = ditWeightBytes(cfg, o.precision);
  // A block's widest moments: self-attention with one query chunk's logits and softmax (fp32) and their cast,
  // beside the residual stream, the modulated input and q/k (fp32 after RMSNorm and RoPE) and v; or the FFN's
  // hidden layer and its GELU (half precision).
  const residual = B * tokens * D * 4;
  const chunkRows = Math.ceil(tokens / QUERY_CHUNKS);
  const attention = residual + 3 * B * tokens * D * 4 + B * tokens * D * half + B * N * chunkRows * tokens * (4 + 4 + half);
  const ffn = residual + B * tokens * D * 4 + 2 * B * tokens * F * half;
  const ditActivations = Math.max(attention, ffn);
  const ditInputs = B * (textLen * cfg.textDim * 4 + cfg.inDim * latentFrames * h * w * 4) + tokens * D * 4; // contexts, latents, RoPE

  const vaeWeights = vaeDecoderWeightBytes();
  const caches = vaeCacheValues(WAN21_VAE_CONFIG, "decoder", h, w) * 4;
  // The full-resolution per-frame graph: the 3-frame stack into a conv, its output and the residual branch.
  const topChannels = decoderDims(WAN21_VAE_CONFIG).at(-1)!;
  const vaeActivations = 5 * topChannels * o.height * o.width * 4;

  const denoiseBytes = ditActivations + ditInputs;
  const decodeBytes = caches + vaeActivations;
  const rows: BudgetRow[] = [
    { part: `DiT weights (${o.precision})`, bytes: ditWeights, note: "exact: the graph's initializers" },
    {
      part: `DiT activations (${tokens.toLocaleString("en-US")} tokens, batch ${B})`,
      bytes: ditActivations,
      note: `query-chunked attention: ${QUERY_CHUNKS} chunks of ${chunkRows} rows; the ${N}-head score matrix (${gib(B * N * tokens * tokens * 4)}) never exists`,
    },
    { part: "DiT inputs on the device", bytes: ditInputs, note: "text contexts, latent, RoPE tables" },
    { part: "VAE decoder weights (fp32)", bytes: vaeWeights, note: "exact" },
    { part: `VAE caches (${o.height}×${o.width}, fp32)`, bytes: caches, note: "32 slots, kept on the device" },
    { part: "VAE activations (full-resolution frame)", bytes: vaeActivations, note: "per-frame graph, one frame at a time" },
    { part: "umT5 text encoder", bytes: 0, note: "runs on the CPU (TEXT_ENCODER_DEVICE=cpu): 11.4 GB fp16 / 5.7 GB int8 of RAM" },
  ];
  return { rows, peakBytes: ditWeights + vaeWeights + Math.max(denoiseBytes, decodeBytes), denoiseBytes, decodeBytes };
}

export function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/** The table as text, for the benchmark's output and the README. */
export function formatBudget(b: Budget, input: BudgetInput): string {
  const lines = [
    `GPU memory for ${input.width}×${input.height}×${input.frames} frames, DiT ${input.precision}, batch ${input.batch}:`,
    ...b.rows.map((r) => `  ${r.part.padEnd(48)} ${gib(r.bytes).padStart(10)}  ${r.note}`),
    `  ${"peak: weights + max(denoising, decoding)".padEnd(48)} ${gib(b.peakBytes).padStart(10)}  denoising ${gib(b.denoiseBytes)}, decoding ${gib(b.decodeBytes)}`,
  ];
  return lines.join("\n");
}
