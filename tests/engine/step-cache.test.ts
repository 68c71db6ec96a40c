/**
 * Step caching (TeaCache) against the reference TeaCache code's own results on the tiny model
 * (goldens_teacache.*: skip pattern, accumulated distance, latents, modes e and e0), through the component
 * runner `npm run engine -- run t2v --teacache … --teacache-mode …` uses; threshold 0 reproduces the uncached
 * whole-graph run bit for bit; a model folder converted before the stage graphs still runs, without caching;
 * MagCache follows its rule with the published 1.3B magnitude ratios, in the sampling loop too.
 */
import { execFile } from "node:child_process";
import { cpSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { mp4FileSink } from "../../lib/video/encoder.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareComponent, type Tensors } from "../../lib/engine/components.ts";
import { denoise } from "../../lib/engine/denoise.ts";
import { DiTRunner } from "../../lib/engine/dit.ts";
import { loadModel } from "../../lib/engine/model.ts";
import { WanPipeline } from "../../lib/engine/pipeline.ts";
import { resolveRuntime, type ResolvedRuntime } from "../../lib/engine/runtime.ts";
import { createScheduler } from "../../lib/engine/schedulers/create-scheduler.ts";
import { magRatios, MagCache, MAGCACHE_WAN_1_3B_SETTINGS, WAN_1_3B_MAG_RATIOS } from "../../lib/engine/magcache.ts";
import { SPEED_PRESETS, type StepCacheSettings } from "../../lib/engine/speed.ts";
import { TeaCache, type TeaCacheMode } from "../../lib/engine/teacache.ts";
import { generateTinyModel } from "../../lib/model-library/tiny.ts";
import { generationParamsSchema } from "../../lib/schemas/generation.ts";
import { convertModel } from "../../models/convert/convert.ts";
import { readManifest, writeManifest } from "../../models/manifest.ts";
import { SafetensorsFile, writeSafetensors } from "../../models/weights/safetensors.ts";
import { fixture, goldens, maxAbsDiff, tempDir } from "../helpers/fixtures.ts";

type GoldenCase = { tag: string; mode: TeaCacheMode; threshold: number; calls: number; skipped: number };
const META = JSON.parse(readFileSync(fixture("goldens_teacache.json"), "utf8")) as {
  sampling: { steps: number; shift: number; guide_scale: number; solver: "unipc" };
  cases: GoldenCase[];
};
const { steps, shift, guide_scale: guidance } = META.sampling;

const run = promisify(execFile);
const work = tempDir("step-cache-test");
const modelDir = path.join(work, "model");
let runtime: ResolvedRuntime;
let inputs: Tensors;

beforeAll(async () => {
  runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: 0 });
  await convertModel({ source: fixture(), outDir: modelDir, precision: "fp32", textLen: 16 });
  const G = await goldens();
  inputs = new Map();
  for (const [as, name] of [["context", "e2e_context"], ["context_null", "e2e_context_null"], ["noise", "e2e_noise"]]) {
    inputs.set(as, { shape: G.info(name).shape, data: await G.readFloat32(name) });
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function t2v(model: string, stepCache?: StepCacheSettings): Promise<Tensors> {
  const c = await prepareComponent("t2v", { model, steps, shift, guidance, solver: "unipc", stepCache }, runtime);
  try {
    return await c.run(inputs);
  } finally {
    await c.release();
  }
}

const floats = (t: Tensors, name: string) => t.get(name)!.data as Float32Array;

describe("TeaCache against the reference implementation (goldens_teacache)", () => {
  it("covers skipping and computing in both modes", () => {
    expect(new Set(META.cases.map((c) => c.mode))).toEqual(new Set(["e", "e0"]));
    expect(META.cases.some((c) => c.skipped > 0)).toBe(true);
  });

  for (const c of META.cases) {
    it(`${c.tag}: mode ${c.mode}, threshold ${c.threshold} → the same skip pattern (${c.skipped} of ${c.calls} skipped), latents ≤ 1e-4`, async () => {
      const G = await goldens("goldens_teacache.safetensors");
      const out = await t2v(modelDir, { rule: "teacache", threshold: c.threshold, mode: c.mode });
      const calc = [...floats(out, "calc")];
      expect(calc).toEqual([...(await G.readFloat32(`${c.tag}_calc`))]);
      expect(calc.filter((v) => v === 0)).toHaveLength(c.skipped);
      expect(maxAbsDiff(floats(out, "latents"), await G.readFloat32(`${c.tag}_latents`))).toBeLessThanOrEqual(1e-4);
      const distance = await G.readFloat32(`${c.tag}_distance`);
      floats(out, "distance").forEach((d, i) => expect(Math.abs(d - distance[i])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(distance[i]))));
    });
  }

  it("runs a case from the command line (npm run engine -- run t2v … --teacache 500 --teacache-mode e)", async () => {
    const inFile = path.join(work, "t2v-in.safetensors");
    const outFile = path.join(work, "t2v-out.safetensors");
    await writeSafetensors(inFile, [...inputs].map(([name, t]) => ({ name, dtype: "float32" as const, shape: t.shape, data: t.data })));
    const args = ["--model", modelDir, "--in", inFile, "--out", outFile, "--steps", `${steps}`, "--shift", `${shift}`, "--guidance", `${guidance}`];
    await run(process.execPath, ["--import", "tsx", "cli/engine.ts", "run", "t2v", ...args, "--teacache", "500", "--teacache-mode", "e"]);
    const out = await SafetensorsFile.open(outFile);
    try {
      const G = await goldens("goldens_teacache.safetensors");
      expect([...(await out.readFloat32("calc"))]).toEqual([...(await G.readFloat32("teacache_e_500_calc"))]);
      expect(maxAbsDiff(await out.readFloat32("latents"), await G.readFloat32("teacache_e_500_latents"))).toBeLessThanOrEqual(1e-4);
    } finally {
      await out.close();
    }
    await expect(run(process.execPath, ["--import", "tsx", "cli/engine.ts", "run", "t2v", ...args, "--teacache", "0.1", "--teacache-mode", "e1"])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/unknown TeaCache mode "e1"; one of: e, e0/),
    });
  });

  it("threshold 0 reproduces the uncached whole-graph run bit for bit", async () => {
    const cached = await t2v(modelDir, { rule: "teacache", threshold: 0, mode: "e" });
    expect(floats(cached, "calc").every((v) => v === 1)).toBe(true);
    const manifest = await readManifest(modelDir);
    const whole = await DiTRunner.load(modelDir, manifest, runtime, { whole: true });
    try {
      expect(whole.canCacheSteps).toBe(false);
      const noise = inputs.get("noise")!;
      const [C, F, H, W] = noise.shape;
      const context = inputs.get("context")!;
      const contextNull = inputs.get("context_null")!;
      const { trajectory, ditCalls, stepCache } = await denoise({
        dit: whole,
        scheduler: createScheduler("unipc", { steps, shift }),
        shape: { channels: C, frames: F, height: H, width: W },
        initial: noise.data as Float32Array,
        cond: { data: context.data as Float32Array, rows: context.shape[0] },
        uncond: { data: contextNull.data as Float32Array, rows: contextNull.shape[0] },
        guidance,
        keepTrajectory: true,
      });
      expect(stepCache).toBe("off");
      expect(ditCalls).toEqual({ calls: 2 * steps, skipped: 0 });
      const uncached = new Float32Array(trajectory!.length * trajectory![0].length);
      trajectory!.forEach((l, i) => uncached.set(l, i * l.length));
      expect(Buffer.from(floats(cached, "latents").buffer).equals(Buffer.from(uncached.buffer))).toBe(true);
    } finally {
      await whole.release();
    }
  });
});

describe("step caching on a model folder converted before the stage graphs", () => {
  const oldDir = path.join(work, "old-model");
  beforeAll(async () => {
    cpSync(modelDir, oldDir, { recursive: true });
    const manifest = await readManifest(oldDir);
    delete manifest.components.transformer!.stages;
    await writeManifest(oldDir, manifest);
    for (const f of ["transformer_embedding.onnx", "transformer_blocks.onnx", "transformer_head.onnx"]) rmSync(path.join(oldDir, f));
  });

  it("runs every pass with the whole graph and says caching is unavailable", async () => {
    const dit = await DiTRunner.load(oldDir, await readManifest(oldDir), runtime);
    try {
      expect(dit.canCacheSteps).toBe(false);
      const noise = inputs.get("noise")!;
      const [C, F, H, W] = noise.shape;
      const context = inputs.get("context")!;
      const result = await denoise({
        dit,
        scheduler: createScheduler("unipc", { steps: 4, shift }),
        shape: { channels: C, frames: F, height: H, width: W },
        initial: noise.data as Float32Array,
        cond: { data: context.data as Float32Array, rows: context.shape[0] },
        uncond: { data: context.data as Float32Array, rows: context.shape[0] },
        guidance,
        stepCache: SPEED_PRESETS.faster,
      });
      expect(result.stepCache).toBe("unavailable");
      expect(result.ditCalls).toEqual({ calls: 8, skipped: 0 });
    } finally {
      await dit.release();
    }
  });

  it("the component runner names the problem", async () => {
    await expect(t2v(oldDir, { rule: "teacache", threshold: 0.1, mode: "e" })).rejects.toThrow(/converted before the DiT stage graphs; reconvert it to use --teacache/);
  });
});

describe("TeaCache rule", () => {
  it("always computes the first step and, in mode e, the last; accumulates until the threshold", () => {
    const cache = new TeaCache({ mode: "e", threshold: 1e9 }, 4);
    const e = (v: number) => new Float32Array([v, v]);
    const decisions = [0, 1, 2, 3].map((step) => {
      const d = cache.decide(0, step, e(1 + step / 10));
      if (d.compute) cache.keepResidual(0, new Float32Array(2), new Float32Array(2));
      return d.compute;
    });
    expect(decisions).toEqual([true, false, false, true]);
    expect(cache.count).toEqual({ calls: 4, skipped: 2 });
    expect(() => new TeaCache({ mode: "e", threshold: -1 }, 4)).toThrow(/threshold must be ≥ 0/);
  });

  it("the speed presets are TeaCache4Wan2.1's published 1.3B thresholds", () => {
    expect(SPEED_PRESETS).toEqual({
      exact: null,
      fast: { rule: "teacache", mode: "e", threshold: 0.05 },
      faster: { rule: "teacache", mode: "e", threshold: 0.08 },
    });
  });
});

describe("MagCache with its published Wan 1.3B calibration", () => {
  const pattern = (cache: MagCache, steps: number, passes = 2) => {
    const out: string[] = [];
    for (let step = 0; step < steps; step++) {
      for (let pass = 0; pass < passes; pass++) {
        const d = cache.decide(pass, step);
        if (d.compute) cache.keepResidual(pass, new Float32Array(1), new Float32Array(1));
        out.push(d.compute ? "1" : "0");
      }
    }
    return out.join("");
  };

  it("computes the retained fifth, then skips at most K steps in a row while Σ|1 − Π ratio| < 0.12", () => {
    const cache = new MagCache(MAGCACHE_WAN_1_3B_SETTINGS.E012K2R02, 50);
    const calls = pattern(cache, 50);
    // Steps 0–9 (calls 0–19) are retained.
    expect(calls.slice(0, 20)).toBe("1".repeat(20));
    // Step 10: ratio 0.99511 → error 0.0049, 1 skip; step 11: 0.99511·0.99535 → error 0.0144, 2 skips; step 12: a 3rd skip > K.
    expect(calls.slice(20, 26)).toBe("000011");
    // The last step alone is off by |1 − 0.81838| > 0.12: it computes.
    expect(calls.slice(-2)).toBe("11");
    expect(calls).not.toMatch(/(00){3}/);
    expect(cache.count.skipped).toBe([...calls].filter((c) => c === "0").length);
  });

  it("resamples the 50-step curve to other step counts per pass (nearest calibrated step)", () => {
    expect(magRatios(50)).toEqual([1, 1, ...WAN_1_3B_MAG_RATIOS]);
    const r25 = magRatios(25);
    expect(r25).toHaveLength(50);
    // Step 1 of 25 ↦ calibrated step round(49/24) = 2; the last step ↦ 49.
    expect(r25.slice(2, 4)).toEqual([WAN_1_3B_MAG_RATIOS[2], WAN_1_3B_MAG_RATIOS[3]]);
    expect(r25.slice(-2)).toEqual(WAN_1_3B_MAG_RATIOS.slice(-2));
  });

  it("skips the same passes in the sampling loop as the rule alone, and moves the latents", async () => {
    const settings = { rule: "magcache" as const, threshold: 0.12, maxSkips: 4, retention: 0.2 };
    const out = await t2v(modelDir, settings);
    const expected = pattern(new MagCache(settings, steps), steps);
    expect([...floats(out, "calc")].join("")).toBe(expected);
    expect(expected).toContain("0");
    const G = await goldens("goldens_teacache.safetensors");
    const latents = floats(out, "latents");
    expect(latents.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(latents, await G.readFloat32("teacache_off_latents"))).toBeGreaterThan(1e-3);
    await expect(t2v(modelDir, { ...settings, maxSkips: 1.5 })).rejects.toThrow(/the MagCache K must be an integer ≥ 0 \(got 1.5\)/);
  });
});

describe("the speed setting in a generation", () => {
  it("reaches the sampling loop: the result counts the DiT passes and the settings name the speed", async () => {
    const dir = path.join(work, "tiny");
    await generateTinyModel({ outDir: dir, seed: 1 });
    const model = await loadModel(dir, runtime);
    try {
      const params = generationParamsSchema.parse({ prompt: "a kite", width: 96, height: 64, frames: 5, steps: 4, guidance: 5, shift: 5, solver: "unipc", seed: 5, speed: "faster" });
      const result = await new WanPipeline(model).generate(params, mp4FileSink(tempDir("speed-gen")));
      expect(result.settings.speed).toBe("faster");
      expect(result.settings.stepCache).toBeUndefined();
      expect(result.ditCalls.calls).toBe(8);
      const exact = await new WanPipeline(model).generate({ ...params, speed: "exact" }, mp4FileSink(tempDir("speed-gen-exact")));
      expect(exact.ditCalls).toEqual({ calls: 8, skipped: 0 });
    } finally {
      await model.release();
    }
    expect(generationParamsSchema.safeParse({ prompt: "x", width: 96, height: 64, frames: 5, steps: 4, guidance: 5, shift: 5, solver: "unipc", speed: "fastest" }).error?.issues[0]).toMatchObject({
      path: ["speed"],
      message: "speed must be one of exact, fast, faster",
    });
  });
});
