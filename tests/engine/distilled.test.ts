/**
 * The rCM few-step sampler and the distilled-recipe rules, checked against values derived by hand from the
 * official script's formulas (NVlabs/rcm rcm/inference/wan2pt1_t2v_rcm_infer.py), not against the sampler's
 * own output.
 */
import { describe, expect, it } from "vitest";
import { gaussianNoise } from "../../lib/engine/noise.ts";
import { createScheduler } from "../../lib/engine/schedulers/create-scheduler.ts";
import {
  DISTILLED_RECIPE_SETTINGS,
  recipeDefaults,
  recipeFromFileName,
  recipeIssue,
} from "../../lib/engine/schedulers/distilled-recipes.ts";
import { rcmGrid } from "../../lib/engine/schedulers/rcm.ts";
import { TINY_DEFAULTS } from "../../models/manifest.ts";

// σ(τ) = tan τ / (1 + tan τ) for τ = atan 80, 1.5, 1.4, 1.0 (evaluated independently with Python's math module).
const SIGMAS = [80 / 81, 0.933781061416858, 0.852895394823775, 0.608979049230431];

describe("gaussianNoise offset", () => {
  it("continues the seed's stream at any offset, even or odd", () => {
    const whole = gaussianNoise(7, 40);
    expect(Array.from(gaussianNoise(7, 10, 20))).toEqual(Array.from(whole.subarray(20, 30)));
    expect(Array.from(gaussianNoise(7, 9, 13))).toEqual(Array.from(whole.subarray(13, 22)));
    expect(Array.from(gaussianNoise(7, 1, 39))).toEqual([whole[39]]);
  });
});

describe("rCM grid", () => {
  it("4 steps: σ from the TrigFlow times [atan 80, 1.5, 1.4, 1.0], then 0", () => {
    const g = rcmGrid(4);
    expect(g.sigmas.length).toBe(5);
    SIGMAS.forEach((s, i) => expect(g.sigmas[i]).toBeCloseTo(s, 14));
    expect(g.sigmas[4]).toBe(0);
  });

  it("the DiT sees 1000·σ rounded to bfloat16 (spacing 4 between 512 and 1024)", () => {
    // 987.654 → 988, 933.781 → 932, 852.895 → 852, 608.979 → 608.
    expect(rcmGrid(4).timesteps).toEqual([988, 932, 852, 608]);
  });

  it("fewer steps take the first intermediate times", () => {
    expect(rcmGrid(1).timesteps).toEqual([988]);
    expect(Array.from(rcmGrid(2).sigmas)).toEqual([rcmGrid(4).sigmas[0], rcmGrid(4).sigmas[1], 0]);
  });

  it("refuses step counts rCM was not distilled for", () => {
    expect(() => rcmGrid(0)).toThrow(/1 to 4 steps/);
    expect(() => rcmGrid(5)).toThrow(/1 to 4 steps/);
  });
});

describe("rCM sampler", () => {
  const n = 6;
  const seed = 1234;
  const x0 = Float32Array.from([0.5, -1, 2, 0.25, -0.75, 1.5]);

  it("starts from σ_0·ε", () => {
    const s = createScheduler("rcm", { steps: 4, shift: 5, seed });
    const noise = gaussianNoise(seed, n);
    const start = s.initialSample(noise);
    for (let j = 0; j < n; j++) expect(start[j]).toBeCloseTo((80 / 81) * noise[j], 6);
  });

  it("each step: x̂₀ = x − σ_i·v, then x_{i+1} = (1 − σ_{i+1})·x̂₀ + σ_{i+1}·ε_{i+1} with the seed's next noise", () => {
    const s = createScheduler("rcm", { steps: 3, shift: 5, seed });
    // A fake DiT: v = 0.3·x + c_j (a different constant per element).
    const velocity = (x: Float32Array) => x.map((v, j) => 0.3 * v + 0.1 * (j - 2));
    const stream = gaussianNoise(seed, 4 * n); // initial noise, then one draw per re-noised step
    let x = s.initialSample(stream.slice(0, n));
    let expected = Array.from(stream.slice(0, n), (e) => SIGMAS[0] * e);
    for (let i = 0; i < 3; i++) {
      const v = velocity(x);
      const next = s.step(v, i, x);
      const σ = SIGMAS[i];
      const σNext = i === 2 ? 0 : SIGMAS[i + 1];
      const ε = stream.subarray((i + 1) * n, (i + 2) * n);
      expected = expected.map((_, j) => {
        const dataPrediction = x[j] - σ * v[j];
        return (1 - σNext) * dataPrediction + σNext * ε[j];
      });
      for (let j = 0; j < n; j++) expect(next[j]).toBeCloseTo(expected[j], 5);
      x = next;
    }
  });

  it("with a perfect model for one data point, every step count lands exactly on it", () => {
    // x = (1 − σ)·d + σ·ε  ⇒  the exact velocity is v = (x − d)/σ, so x − σ·v = d whatever the noise.
    for (const steps of [1, 2, 3, 4]) {
      const s = createScheduler("rcm", { steps, shift: 5, seed: 99 });
      let x = s.initialSample(gaussianNoise(99, n));
      for (let i = 0; i < steps; i++) {
        const σ = s.sigmas[i];
        x = s.step(x.map((v, j) => (v - x0[j]) / σ), i, x);
      }
      for (let j = 0; j < n; j++) expect(x[j]).toBeCloseTo(x0[j], 5);
    }
  });

  it("the seed decides the re-injected noise", () => {
    const runWith = (seed: number) => {
      const s = createScheduler("rcm", { steps: 2, shift: 5, seed });
      const x = Float32Array.from(x0);
      return s.step(new Float32Array(n), 0, x);
    };
    expect(Array.from(runWith(1))).toEqual(Array.from(runWith(1)));
    expect(Array.from(runWith(1))).not.toEqual(Array.from(runWith(2)));
  });

  it("needs the run's seed", () => {
    expect(() => createScheduler("rcm", { steps: 4, shift: 5 })).toThrow(/seed/);
  });
});

describe("distilled recipes", () => {
  it("recognises NVlabs' rCM checkpoint names", () => {
    expect(recipeFromFileName("/dl/rCM_Wan2.1_T2V_1.3B_480p.pt")).toBe("rcm");
    expect(recipeFromFileName("wan2.1_t2v_1.3B_fp16.safetensors")).toBeNull();
    expect(recipeFromFileName("/home/arcmodels/wan.safetensors")).toBeNull();
  });

  it("the rCM defaults: 4 steps, rcm sampler, guidance off, the base model's sizes", () => {
    const d = recipeDefaults(TINY_DEFAULTS, "rcm");
    expect(d).toMatchObject({ steps: 4, solver: "rcm", guidance: 1, width: TINY_DEFAULTS.width, sizes: TINY_DEFAULTS.sizes });
    expect(DISTILLED_RECIPE_SETTINGS.rcm.maxSteps).toBe(4);
  });

  it("a distilled sampler runs only on its distillation, in its steps, without guidance", () => {
    const ok = { solver: "rcm", steps: 4, guidance: 1 };
    expect(recipeIssue(ok, "rcm", "m")).toBeNull();
    expect(recipeIssue(ok, null, "base")).toMatchObject({ field: "solver", message: expect.stringMatching(/model base is not one/) });
    expect(recipeIssue({ ...ok, steps: 8 }, "rcm", "m")).toMatchObject({ field: "steps" });
    expect(recipeIssue({ ...ok, guidance: 5 }, "rcm", "m")).toMatchObject({ field: "guidance" });
    expect(recipeIssue({ solver: "unipc", steps: 50, guidance: 6 }, "rcm", "m")).toBeNull();
  });
});
