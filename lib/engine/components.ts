/**
 * Runs one part of the pipeline on named tensors, so anyone can check a conversion (or the sampler, or the
 * whole text-to-video loop) against reference dumps: `npm run engine -- run <component> --in a.safetensors
 * --out b.safetensors`. Each runner loads what it needs once (`prepare`), then `run` may be called
 * repeatedly, which is what `--repeat N` times.
 */
import { readManifest, type Manifest } from "../../models/manifest.ts";
import { DiTRunner } from "./dit.ts";
import { resolveRuntime, type ResolvedRuntime } from "./runtime.ts";
import { replayTrajectory } from "./schedulers/replay.ts";
import { SOLVERS } from "./schedulers/create-scheduler.ts";
import type { SolverName } from "./schedulers/flow-scheduler.ts";

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

const COMPONENTS: Record<string, Component> = {
  dit: {
    description: "DiT forward: x [C,F,H,W], t [1], context [L,text_dim] (unpadded); i2v also y [20,F,H,W], clip_fea [257,1280] → out",
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
  if (component.needsModel && !opts.model) throw new ComponentInputError(`component "${name}" needs --model <dir>`);
  const manifest = component.needsModel ? await readManifest(opts.model!) : undefined;
  const rt = runtime ?? (await resolveRuntime({ executionProviders: "auto", threads: 0 }));
  return component.prepare(opts, { manifest, runtime: rt });
}
