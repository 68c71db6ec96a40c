/**
 * `npm run engine -- run <component> [--model <dir>] --in <in.safetensors> --out <out.safetensors>`
 * Runs one component on named tensors (see lib/engine/components.ts). With `--repeat N` it runs N more
 * times after one warm-up and prints, as the last line of stdout, JSON with the median and minimum
 * seconds per run (model loading excluded). The sessions run on EXECUTION_PROVIDERS (default auto: CUDA, then
 * WebGPU, then CPU); the first line of stdout names the provider they actually run on.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../lib/config.ts";
import { describeRuntime, resolveRuntime } from "../lib/engine/runtime.ts";
import { ComponentInputError, describeComponents, prepareComponent, type Tensors } from "../lib/engine/components.ts";
import type { SolverName } from "../lib/engine/schedulers/flow-scheduler.ts";
import type { StepCacheSettings } from "../lib/engine/speed.ts";
import type { TeaCacheMode } from "../lib/engine/teacache.ts";
import { MAGCACHE_WAN_1_3B_SETTINGS } from "../lib/engine/magcache.ts";
import { SafetensorsFile, writeSafetensors } from "../models/weights/safetensors.ts";
import { TensorFileError } from "../models/weights/tensor-file.ts";
import { ManifestError } from "../models/manifest.ts";

const USAGE = `usage: npm run engine -- run <component> [--model <dir>] --in <in.safetensors> --out <out.safetensors>
       [--steps N --shift S --guidance G --solver unipc|dpmpp|euler] [--repeat N]
       [--teacache THRESHOLD [--teacache-mode e|e0] | --magcache THRESHOLD [--magcache-k K] [--magcache-retention R]]
components:
${describeComponents()}`;

async function readInputs(file: string): Promise<Tensors> {
  const f = await SafetensorsFile.open(file);
  try {
    const tensors: Tensors = new Map();
    for (const [name, info] of f.tensors) {
      if (info.dtype === "int64") {
        const bytes = await f.read(name);
        tensors.set(name, { shape: info.shape, data: new BigInt64Array(bytes.slice().buffer) });
      } else {
        tensors.set(name, { shape: info.shape, data: await f.readFloat32(name) });
      }
    }
    return tensors;
  } finally {
    await f.close();
  }
}

/** --teacache T [--teacache-mode e|e0], or --magcache T [--magcache-k K --magcache-retention R] (defaults: E012K2R02). */
function stepCacheOptions(
  values: Record<string, string | boolean | undefined>,
  number: (name: string, v: string | undefined) => number | undefined,
): StepCacheSettings | undefined {
  const arg = (name: string) => values[name] as string | undefined;
  for (const [flag, needs] of [["teacache-mode", "teacache"], ["magcache-k", "magcache"], ["magcache-retention", "magcache"]]) {
    if (arg(flag) !== undefined && arg(needs) === undefined) throw new ComponentInputError(`--${flag} needs --${needs} <threshold>`);
  }
  if (arg("teacache") !== undefined && arg("magcache") !== undefined) throw new ComponentInputError("give --teacache or --magcache, not both");
  const tea = number("teacache", arg("teacache"));
  if (tea !== undefined) return { rule: "teacache", threshold: tea, mode: (arg("teacache-mode") ?? "e") as TeaCacheMode };
  const mag = number("magcache", arg("magcache"));
  if (mag === undefined) return undefined;
  const published = MAGCACHE_WAN_1_3B_SETTINGS.E012K2R02;
  return {
    rule: "magcache",
    threshold: mag,
    maxSkips: number("magcache-k", arg("magcache-k")) ?? published.maxSkips,
    retention: number("magcache-retention", arg("magcache-retention")) ?? published.retention,
  };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: "string" },
      in: { type: "string" },
      out: { type: "string" },
      steps: { type: "string" },
      shift: { type: "string" },
      guidance: { type: "string" },
      solver: { type: "string" },
      repeat: { type: "string" },
      teacache: { type: "string" },
      "teacache-mode": { type: "string" },
      magcache: { type: "string" },
      "magcache-k": { type: "string" },
      "magcache-retention": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [verb, component] = positionals;
  if (values.help || verb !== "run" || !component) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  if (!values.in || !values.out) throw new ComponentInputError("--in and --out are required");
  const number = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new ComponentInputError(`--${name} must be a number (got "${v}")`);
    return n;
  };
  const repeat = number("repeat", values.repeat) ?? 0;
  const stepCache = stepCacheOptions(values, number);
  const inputs = await readInputs(values.in);
  const runtime = await resolveRuntime({ executionProviders: loadConfig().executionProviders, threads: 0 });
  console.log(`execution provider: ${describeRuntime(runtime)}`);
  const prepared = await prepareComponent(component, {
    model: values.model,
    steps: number("steps", values.steps),
    shift: number("shift", values.shift),
    guidance: number("guidance", values.guidance),
    solver: values.solver as SolverName | undefined,
    stepCache,
  }, runtime);
  try {
    let outputs = await prepared.run(inputs);
    const times: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const t0 = performance.now();
      outputs = await prepared.run(inputs);
      times.push((performance.now() - t0) / 1000);
    }
    await writeSafetensors(
      values.out,
      [...outputs].map(([name, t]) => ({
        name,
        dtype: t.data instanceof BigInt64Array ? ("int64" as const) : ("float32" as const),
        shape: t.shape,
        data: t.data,
      })),
    );
    for (const [name, t] of outputs) console.log(`${name} [${t.shape.join(", ")}]`);
    if (repeat > 0) {
      const sorted = [...times].sort((a, b) => a - b);
      const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
      console.log(JSON.stringify({ component, runs: repeat, median_s: median, min_s: sorted[0] }));
    }
  } finally {
    await prepared.release();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    const known =
      e instanceof ComponentInputError || e instanceof TensorFileError || e instanceof ManifestError || e instanceof ConfigError;
    console.error(known ? `error: ${e.message}` : e);
    process.exit(known ? 2 : 1);
  },
);
