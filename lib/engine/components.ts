/**
 * Runs one part of the pipeline on named tensors, so anyone can check a conversion (or the sampler, or the
 * whole text-to-video loop) against reference dumps: `npm run engine -- run <component> --in a.safetensors
 * --out b.safetensors`. Each runner loads what it needs once (`prepare`), then `run` may be called
 * repeatedly, which is what `--repeat N` times.
 */
import path from "node:path";
import { readManifest, type Manifest } from "../../models/manifest.ts";
import { encodeImage } from "./clip.ts";
import { denoise } from "./denoise.ts";
import { DiTRunner } from "./dit.ts";
import { openSession, resolveRuntime, type ResolvedRuntime } from "./runtime.ts";
import { createScheduler } from "./schedulers/create-scheduler.ts";
import { encodeTokens } from "./text-encoder.ts";
import { createVaeSessions, decodeLatents, encodeVideo, latentFrameCount, releaseVaeSessions, type VaeSessions } from "./vae.ts";
import { replayTrajectory } from "./schedulers/replay.ts";
import { SOLVERS } from "../schemas/generation.ts";
import type { SolverName } from "./schedulers/flow-scheduler.ts";
import { createStepCache, type StepCacheSettings } from "./speed.ts";
import { TEACACHE_MODES } from "./teacache.ts";

export type NamedTensor = { shape: number[]; data: Float32Array | BigInt64Array };
export type Tensors = Map<string, NamedTensor>;

export class ComponentInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ComponentInputError";
  }
}

export type ComponentOptions = {
  model?: string;
  steps?: number;
  shift?: number;
  guidance?: number;
  solver?: SolverName;
  /** t2v: step caching (TeaCache or MagCache). */
  stepCache?: StepCacheSettings;
};

export type PreparedComponent = {
  run(inputs: Tensors): Promise<Tensors>;
  release(): Promise<void>;
};

type Component = {
  description: string;
  needsModel: boolean;
  prepare(opts: ComponentOptions, ctx: { manifest?: Manifest; runtime: ResolvedRuntime }): Promise<PreparedComponent>;
};

export function input(inputs: Tensors, name: string, rank?: number): NamedTensor & { data: Float32Array } {
  const t = inputs.get(name);
  if (!t) throw new ComponentInputError(`missing input tensor "${name}" (inputs: ${[...inputs.keys()].join(", ") || "none"})`);
  if (!(t.data instanceof Float32Array)) throw new ComponentInputError(`input tensor "${name}" must be float32`);
  if (rank !== undefined && t.shape.length !== rank) {
    throw new ComponentInputError(`input tensor "${name}" has shape [${t.shape}], expected ${rank} dimensions`);
  }
  return t as NamedTensor & { data: Float32Array };
}

/** Decodes a whole latent [C, F, h, w] (streamed chunk by chunk) into one video tensor [3, T, 8h, 8w]. */
async function decodeAll(vae: VaeSessions, latent: Float32Array, F: number, h: number, w: number, scale: number) {
  const H = h * scale;
  const W = w * scale;
  const T = 1 + 4 * (F - 1);
  const video = new Float32Array(3 * T * H * W);
  let t0 = 0;
  for await (const chunk of decodeLatents(vae, latent, F, h, w)) {
    for (let c = 0; c < 3; c++) {
      video.set(chunk.frames.subarray(c * chunk.t * H * W, (c + 1) * chunk.t * H * W), (c * T + t0) * H * W);
    }
    t0 += chunk.t;
  }
  return { video, shape: [3, T, H, W] };
}

async function vaeSessions(modelDir: string, manifest: Manifest, runtime: ResolvedRuntime): Promise<VaeSessions> {
  const vae = manifest.components.vae;
  if (!vae) throw new ComponentInputError(`${modelDir}: the model has no VAE`);
  return createVaeSessions(modelDir, vae.files, runtime);
}

const COMPONENTS: Record<string, Component> = {
  dit: {
    description: "DiT forward: x [C,F,H,W], t [1], context [L,text_dim] (unpadded); i2v also y [20,F,H,W], clip_fea [tokens,image_dim] (257×1280 for ViT-H/14) → out",
    needsModel: true,
    async prepare(opts, { manifest, runtime }) {
      const runner = await DiTRunner.load(opts.model!, manifest!, runtime);
      return {
        async run(inputs) {
          const x = input(inputs, "x", 4);
          const t = input(inputs, "t");
          const context = input(inputs, "context", 2);
          const [C, F, H, W] = x.shape;
          const imageCondition =
            runner.config.modelType === "i2v"
              ? { y: input(inputs, "y", 4).data, clip: input(inputs, "clip_fea", 2).data }
              : undefined;
          const [out] = await runner.predict({
            latents: [x.data],
            shape: { channels: C, frames: F, height: H, width: W },
            timestep: t.data[0],
            contexts: [{ data: context.data, rows: context.shape[0] }],
            imageCondition,
          });
          return new Map([["out", { shape: [runner.config.outDim, F, H, W], data: out }]]);
        },
        release: () => runner.release(),
      };
    },
  },

  "vae-encode": {
    description: "VAE encoder: video [3,T,H,W] in [-1,1] → latent [16,1+(T-1)/4,H/8,W/8] (normalised)",
    needsModel: true,
    async prepare(opts, { manifest, runtime }) {
      const sessions = await vaeSessions(opts.model!, manifest!, runtime);
      return {
        async run(inputs) {
          const video = input(inputs, "video", 4);
          const [, T, H, W] = video.shape;
          const latent = await encodeVideo(sessions, video.data, T, H, W);
          const scale = manifest!.components.vae!.scaleSpatial;
          return new Map([["latent", { shape: [manifest!.components.vae!.zDim, latentFrameCount(T), H / scale, W / scale], data: latent }]]);
        },
        release: () => releaseVaeSessions(sessions),
      };
    },
  },

  "vae-decode": {
    description: "VAE decoder, one latent frame at a time: latent [16,F,h,w] (normalised) → video [3,1+4(F-1),8h,8w] clamped",
    needsModel: true,
    async prepare(opts, { manifest, runtime }) {
      const sessions = await vaeSessions(opts.model!, manifest!, runtime);
      return {
        async run(inputs) {
          const latent = input(inputs, "latent", 4);
          const [, F, h, w] = latent.shape;
          const { video, shape } = await decodeAll(sessions, latent.data, F, h, w, manifest!.components.vae!.scaleSpatial);
          return new Map([["video", { shape, data: video }]]);
        },
        release: () => releaseVaeSessions(sessions),
      };
    },
  },

  "text-encoder": {
    description: "umT5 encoder: ids [1,L] int64, mask [1,L] int64 → hidden [valid rows, d_model]",
    needsModel: true,
    async prepare(opts, { manifest, runtime }) {
      const entry = manifest!.components.textEncoder;
      if (!entry) throw new ComponentInputError(`${opts.model}: the model has no text encoder`);
      const session = await openSession(path.join(opts.model!, entry.file), runtime);
      const t5 = entry.config as { numBuckets?: number; maxDistance?: number };
      return {
        async run(inputs) {
          const ids = inputs.get("ids");
          const mask = inputs.get("mask");
          if (!(ids?.data instanceof BigInt64Array)) throw new ComponentInputError('missing int64 input tensor "ids" [1, L]');
          if (!(mask?.data instanceof BigInt64Array)) throw new ComponentInputError('missing int64 input tensor "mask" [1, L]');
          // The real tokens are the mask's ones; the encoder runs on them alone (docs/model-notes.md#prompt-handling).
          const length = mask.data.reduce((n, v) => n + (v !== 0n ? 1 : 0), 0);
          const out = await encodeTokens(session, ids.data, length, { numBuckets: t5.numBuckets, maxDistance: t5.maxDistance });
          return new Map([["hidden", { shape: [out.rows, out.dim], data: out.hidden }]]);
        },
        release: () => session.release(),
      };
    },
  },

  clip: {
    description: "CLIP image encoder, Wan's preprocessing: image [3,H,W] in [-1,1] → pixels [3,S,S], clip_fea [tokens,width]",
    needsModel: true,
    async prepare(opts, { manifest, runtime }) {
      const entry = manifest!.components.imageEncoder;
      if (!entry) throw new ComponentInputError(`${opts.model}: the model has no image encoder`);
      const session = await openSession(path.join(opts.model!, entry.file), runtime);
      return {
        async run(inputs) {
          const image = input(inputs, "image", 3);
          const [C, H, W] = image.shape;
          if (C !== 3) throw new ComponentInputError(`input tensor "image" has shape [${image.shape}], expected [3, H, W]`);
          const out = await encodeImage(session, image.data, H, W);
          return new Map([
            ["pixels", { shape: [3, out.size, out.size], data: out.pixels }],
            ["clip_fea", { shape: [out.tokens, out.width], data: out.features }],
          ]);
        },
        release: () => session.release(),
      };
    },
  },

  t2v: {
    description:
      "text-to-video loop from text embeddings: context [L,text_dim], context_null [L',text_dim], noise [16,F,h,w] → video [3,T,H,W], latents [N+1,16,F,h,w]; with --teacache or --magcache also calc, distance [passes] (1 = the blocks ran)",
    needsModel: true,
    async prepare(opts, { manifest, runtime }) {
      if (opts.steps === undefined || opts.shift === undefined || opts.guidance === undefined) {
        throw new ComponentInputError("t2v needs --steps, --shift and --guidance");
      }
      const dit = await DiTRunner.load(opts.model!, manifest!, runtime);
      if (opts.stepCache && !dit.canCacheSteps) {
        await dit.release();
        throw new ComponentInputError(`${opts.model}: the model was converted before the DiT stage graphs; reconvert it to use --${opts.stepCache.rule}`);
      }
      const vae = await vaeSessions(opts.model!, manifest!, runtime);
      const { steps, shift, guidance } = opts;
      return {
        async run(inputs) {
          const context = input(inputs, "context", 2);
          const contextNull = input(inputs, "context_null", 2);
          const noise = input(inputs, "noise", 4);
          const [C, F, h, w] = noise.shape;
          const scheduler = createScheduler(opts.solver ?? "unipc", { steps, shift });
          const { trajectory, decisions } = await denoise({
            dit,
            scheduler,
            shape: { channels: C, frames: F, height: h, width: w },
            initial: noise.data,
            cond: { data: context.data, rows: context.shape[0] },
            uncond: { data: contextNull.data, rows: contextNull.shape[0] },
            guidance,
            keepTrajectory: true,
            stepCache: opts.stepCache,
          });
          const per = noise.data.length;
          const latents = new Float32Array((steps + 1) * per);
          trajectory!.forEach((l, i) => latents.set(l, i * per));
          const final = trajectory![trajectory!.length - 1];
          const { video, shape } = await decodeAll(vae, final, F, h, w, manifest!.components.vae!.scaleSpatial);
          const outputs: Tensors = new Map([
            ["video", { shape, data: video }],
            ["latents", { shape: [steps + 1, ...noise.shape], data: latents }],
          ]);
          if (decisions) {
            outputs.set("calc", { shape: [decisions.length], data: Float32Array.from(decisions, (d) => (d.compute ? 1 : 0)) });
            outputs.set("distance", { shape: [decisions.length], data: Float32Array.from(decisions, (d) => d.distance) });
          }
          return outputs;
        },
        async release() {
          await dit.release();
          await releaseVaeSessions(vae);
        },
      };
    },
  },

  sampler: {
    description: "replays a sampling run: noise [C,F,H,W], model_out [N,C,F,H,W] → latents [N+1,…], sigmas, timesteps",
    needsModel: false,
    async prepare(opts) {
      const solver = opts.solver ?? "unipc";
      if (opts.steps === undefined || opts.shift === undefined) throw new ComponentInputError("the sampler needs --steps and --shift");
      const { steps, shift } = opts;
      return {
        async run(inputs) {
          const noise = input(inputs, "noise");
          const modelOut = input(inputs, "model_out");
          const per = noise.data.length;
          if (modelOut.shape[0] !== steps || modelOut.data.length !== steps * per) {
            throw new ComponentInputError(`model_out must be [${steps}, ${noise.shape}] for --steps ${steps}`);
          }
          const outs = Array.from({ length: steps }, (_, i) => modelOut.data.subarray(i * per, (i + 1) * per));
          const traj = replayTrajectory(solver, { steps, shift }, noise.data, outs);
          const latents = new Float32Array((steps + 1) * per);
          traj.latents.forEach((l, i) => latents.set(l, i * per));
          return new Map([
            ["latents", { shape: [steps + 1, ...noise.shape], data: latents }],
            ["sigmas", { shape: [steps + 1], data: traj.sigmas }],
            ["timesteps", { shape: [steps], data: traj.timesteps }],
          ]);
        },
        release: async () => {},
      };
    },
  },
};

function checkStepCache(component: string, settings: StepCacheSettings): void {
  const flag = `--${settings.rule}`;
  if (component !== "t2v") throw new ComponentInputError(`${flag} is an option of the t2v component`);
  if (settings.rule === "teacache" && !TEACACHE_MODES.includes(settings.mode)) {
    throw new ComponentInputError(`unknown TeaCache mode "${settings.mode}"; one of: ${TEACACHE_MODES.join(", ")}`);
  }
  try {
    createStepCache(settings, 1);
  } catch (e) {
    throw new ComponentInputError((e as Error).message);
  }
}

export function componentNames(): string[] {
  return Object.keys(COMPONENTS);
}

export function describeComponents(): string {
  return Object.entries(COMPONENTS)
    .map(([name, c]) => `  ${name.padEnd(13)} ${c.description}`)
    .join("\n");
}

export async function prepareComponent(
  name: string,
  opts: ComponentOptions,
  runtime?: ResolvedRuntime,
): Promise<PreparedComponent> {
  const component = COMPONENTS[name];
  if (!component) throw new ComponentInputError(`unknown component "${name}"; one of: ${componentNames().join(", ")}`);
  if (opts.solver && !SOLVERS.includes(opts.solver)) {
    throw new ComponentInputError(`unknown solver "${opts.solver}"; one of: ${SOLVERS.join(", ")}`);
  }
  if (opts.stepCache) checkStepCache(name, opts.stepCache);
  if (component.needsModel && !opts.model) throw new ComponentInputError(`component "${name}" needs --model <dir>`);
  const manifest = component.needsModel ? await readManifest(opts.model!) : undefined;
  const rt = runtime ?? (await resolveRuntime({ executionProviders: "auto", threads: 0 }));
  return component.prepare(opts, { manifest, runtime: rt });
}
