import { beforeAll, describe, expect, it } from "vitest";
import { createScheduler, gridFor } from "../../lib/engine/schedulers/create-scheduler.ts";
import type { FlowScheduler, SolverName } from "../../lib/engine/schedulers/flow-scheduler.ts";
import { forwardNoise } from "../../lib/engine/schedulers/forward-noise.ts";
import { replayTrajectory } from "../../lib/engine/schedulers/replay.ts";
import {
  diffusersFlowGrid,
  numpyLinspace,
  officialDpmppGrid,
  officialUniPCGrid,
  OFFICIAL_SIGMA_MAX,
} from "../../lib/engine/schedulers/sigmas.ts";
import type { SafetensorsFile } from "../../models/weights/safetensors.ts";
import { goldens as openGoldens, maxAbsDiff, splitRows } from "../helpers/fixtures.ts";

const GOLDEN_BAR = 1e-4;
const STEPS = 10;

/** Deterministic, non-trivial test data without a generator dependency. */
function wave(n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, j) => Math.sin(0.37 * j + phase) * (1 + 0.5 * Math.cos(0.11 * j)));
}

/** Runs steps startStep…N−1 with a velocity function of (x, i). */
function run(s: FlowScheduler, x: Float32Array, velocity: (x: Float32Array, i: number) => Float32Array): Float32Array[] {
  const out = [x];
  for (let i = s.startStep; i < s.numSteps; i++) {
    x = s.step(velocity(x, i), i, x);
    out.push(x);
  }
  return out;
}

describe("sigma / timestep grids", () => {
  it("σ_max of the official grid is float32(0.999)", () => {
    expect(OFFICIAL_SIGMA_MAX).toBe(0.9990000128746033);
  });

  it("numpyLinspace ends exactly on stop and steps like numpy", () => {
    const y = numpyLinspace(OFFICIAL_SIGMA_MAX, 0, 11);
    expect(y[0]).toBe(OFFICIAL_SIGMA_MAX);
    expect(y[10]).toBe(0);
    const step = (0 - OFFICIAL_SIGMA_MAX) / 10;
    for (let i = 0; i < 10; i++) expect(y[i]).toBe(i * step + OFFICIAL_SIGMA_MAX);
  });

  it("official UniPC grid, 10 steps, shift 5 (fixtures README)", () => {
    const g = officialUniPCGrid(10, 5);
    expect(g.timesteps).toEqual([999, 978, 952, 920, 882, 833, 768, 681, 555, 356]);
    expect(g.sigmas.length).toBe(11);
    expect(g.sigmas[10]).toBe(0);
    for (const s of g.sigmas) expect(Math.fround(s)).toBe(s); // stored as float32
  });

  it("official UniPC grid, N=50 s=5 (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.set_timesteps)", () => {
    const g = officialUniPCGrid(50, 5);
    expect(g.timesteps.slice(0, 6)).toEqual([999, 995, 991, 987, 982, 978]);
    expect(g.timesteps.slice(-6)).toEqual([405, 356, 302, 241, 172, 92]);
    expect(g.sigmas[0]).toBeCloseTo(0.9998, 4);
    expect(g.sigmas[49]).toBeCloseTo(0.092507, 6);
  });

  it("official UniPC grid, N=50 s=8 (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.set_timesteps)", () => {
    const g = officialUniPCGrid(50, 8);
    expect(g.timesteps.slice(0, 6)).toEqual([999, 997, 994, 991, 989, 986]);
    expect(g.timesteps.slice(-6)).toEqual([521, 470, 409, 337, 249, 140]);
    expect(g.sigmas[49]).toBeCloseTo(0.140228, 6);
  });

  it("official UniPC grid, N=40 s=3 (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.set_timesteps)", () => {
    const g = officialUniPCGrid(40, 3);
    expect(g.timesteps.slice(0, 6)).toEqual([999, 991, 982, 973, 963, 954]);
    expect(g.timesteps.slice(-6)).toEqual([345, 299, 249, 195, 136, 71]);
  });

  it("official DPM++ grid, N=50 s=5: σ_0 = 1, t_0 = 1000 (official wan/utils/fm_solvers.py, get_sampling_sigmas)", () => {
    const g = officialDpmppGrid(50, 5);
    expect(g.sigmas[0]).toBe(1);
    expect(g.timesteps.slice(0, 6)).toEqual([1000, 995, 991, 987, 982, 978]);
    expect(g.timesteps.slice(-4)).toEqual([303, 241, 172, 92]);
    expect(g.sigmas[50]).toBe(0);
  });

  it("Diffusers flow grid, N=50 flow_shift 3 (Diffusers UniPCMultistepScheduler.set_timesteps (use_flow_sigmas))", () => {
    const g = diffusersFlowGrid(50, 3);
    expect(g.timesteps.slice(0, 4)).toEqual([999, 993, 986, 979]);
    expect(g.timesteps.slice(-4)).toEqual([208, 162, 113, 60]);
    // σ_0 = shift(1) = 1 is moved to 1 − 1e-6 so that ln(1 − σ) stays finite.
    expect(g.sigmas[0]).toBe(Math.fround(1 - 1e-6));
    expect(g.sigmas[50]).toBe(0);
  });

  it("the factory picks the official grid per solver, or the Diffusers grid", () => {
    expect(gridFor("unipc", 10, 5).timesteps[0]).toBe(999);
    expect(gridFor("euler", 10, 5).timesteps).toEqual(officialUniPCGrid(10, 5).timesteps);
    expect(gridFor("dpmpp", 10, 5).timesteps[0]).toBe(1000);
    expect(gridFor("dpmpp", 50, 3, "diffusers").timesteps).toEqual(diffusersFlowGrid(50, 3).timesteps);
  });

  it("rejects impossible settings", () => {
    expect(() => officialUniPCGrid(0, 5)).toThrow(/steps/);
    expect(() => officialUniPCGrid(2.5, 5)).toThrow(/steps/);
    expect(() => officialUniPCGrid(10, 0)).toThrow(/shift/);
    expect(() => createScheduler("unipc", { steps: 10, shift: 5, startStep: 10 })).toThrow(/startStep/);
  });
});

describe("schedulers against the official goldens", () => {
  let goldens: SafetensorsFile;
  beforeAll(async () => {
    goldens = await openGoldens();
  });

  const cases: { name: string; solver: SolverName; shift: number }[] = [
    { name: "sched_unipc_shift5", solver: "unipc", shift: 5 },
    { name: "sched_unipc_shift8", solver: "unipc", shift: 8 },
    { name: "sched_dpmpp_shift5", solver: "dpmpp", shift: 5 },
    { name: "sched_dpmpp_shift8", solver: "dpmpp", shift: 8 },
  ];

  for (const { name, solver, shift } of cases) {
    it(`${name}: grid, and the trajectory replayed from the recorded model outputs`, async () => {
      const noise = await goldens.readFloat32("sched_noise");
      const modelOut = splitRows(await goldens.readFloat32(`${name}_model_out`), STEPS);
      const latents = splitRows(await goldens.readFloat32(`${name}_latents`), STEPS + 1);
      const goldenSigmas = await goldens.readFloat32(`${name}_sigmas`);
      const goldenTimesteps = await goldens.readFloat32(`${name}_timesteps`);

      const replay = replayTrajectory(solver, { steps: STEPS, shift }, noise, modelOut);
      expect(Array.from(replay.timesteps)).toEqual(Array.from(goldenTimesteps));
      expect(maxAbsDiff(replay.sigmas, goldenSigmas)).toBeLessThanOrEqual(1e-7);

      expect(replay.latents.length).toBe(STEPS + 1);
      expect(replay.latents[0]).toEqual(noise);
      const errors = latents.map((golden, i) => maxAbsDiff(replay.latents[i], golden));
      const worst = Math.max(...errors);
      console.log(`${name}: max abs error over the trajectory ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(GOLDEN_BAR);
    });

    it(`${name}: closed loop with the fake model v = 0.3·x + 0.1·sin(t/100)`, async () => {
      // The model is evaluated on our own samples with our integer timesteps, so this also checks that the
      // DiT-facing t is the truncated integer the official code used.
      const noise = await goldens.readFloat32("sched_noise");
      const latents = splitRows(await goldens.readFloat32(`${name}_latents`), STEPS + 1);
      const modelOut = splitRows(await goldens.readFloat32(`${name}_model_out`), STEPS);
      const s = createScheduler(solver, { steps: STEPS, shift });
      const outputs: Float32Array[] = [];
      const ours = run(s, noise, (x, i) => {
        const bias = 0.1 * Math.sin(s.timesteps[i] / 100);
        const v = Float32Array.from(x, (value) => 0.3 * value + bias);
        outputs.push(v);
        return v;
      });
      expect(Math.max(...outputs.map((v, i) => maxAbsDiff(v, modelOut[i])))).toBeLessThanOrEqual(GOLDEN_BAR);
      expect(Math.max(...ours.map((x, i) => maxAbsDiff(x, latents[i])))).toBeLessThanOrEqual(GOLDEN_BAR);
    });
  }

  it("e2e: the text-to-video run's grid and its UniPC trajectory from the guided DiT outputs", async () => {
    const noise = await goldens.readFloat32("e2e_noise");
    const noisePred = splitRows(await goldens.readFloat32("e2e_noise_pred"), STEPS);
    const latents = splitRows(await goldens.readFloat32("e2e_latents"), STEPS + 1);
    const replay = replayTrajectory("unipc", { steps: STEPS, shift: 5 }, noise, noisePred);
    expect(Array.from(replay.timesteps)).toEqual(Array.from(await goldens.readFloat32("e2e_timesteps")));
    expect(maxAbsDiff(replay.sigmas, await goldens.readFloat32("e2e_sigmas"))).toBeLessThanOrEqual(1e-7);
    const worst = Math.max(...latents.map((golden, i) => maxAbsDiff(replay.latents[i], golden)));
    console.log(`e2e: max abs error over the trajectory ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(GOLDEN_BAR);
  });
});

describe("solver behaviour with known answers", () => {
  const n = 257;
  const x0 = wave(n, 0.3);
  const eps = wave(n, 2.1);

  it("Euler on a linear field dx/dσ = a·x is the product Π(1 + a·Δσ) and converges to x·e^{a(σ_N−σ_0)}", () => {
    const a = 0.8;
    const x = wave(n, 1.0);
    for (const steps of [10, 400]) {
      const s = createScheduler("euler", { steps, shift: 5 });
      const traj = run(s, x, (xi) => Float32Array.from(xi, (value) => a * value));
      let factor = 1;
      for (let i = 0; i < steps; i++) factor *= 1 + a * (s.sigmas[i + 1] - s.sigmas[i]);
      const expected = Float32Array.from(x, (value) => factor * value);
      expect(maxAbsDiff(traj[steps], expected)).toBeLessThanOrEqual(2e-6 * steps);
      const exact = Float32Array.from(x, (value) => value * Math.exp(a * (s.sigmas[steps] - s.sigmas[0])));
      // First-order method: the global error shrinks like 1/N.
      expect(maxAbsDiff(traj[steps], exact)).toBeLessThan(steps === 10 ? 0.1 : 2e-3);
    }
  });

  for (const solver of ["unipc", "dpmpp", "euler"] as const) {
    for (const grid of ["official", "diffusers"] as const) {
      it(`${solver} (${grid} grid) follows the straight path x_σ = (1−σ)·x₀ + σ·ε exactly when v = ε − x₀`, () => {
        // With the true velocity every data prediction m_i equals x₀, so every solver lands on the path.
        const s = createScheduler(solver, { steps: 12, shift: 5, grid });
        const v = Float32Array.from(x0, (value, j) => eps[j] - value);
        const start = forwardNoise(x0, eps, s.sigmas[0]);
        const traj = run(s, start, () => v);
        for (let i = 0; i <= s.numSteps; i++) {
          expect(maxAbsDiff(traj[i], forwardNoise(x0, eps, s.sigmas[i]))).toBeLessThanOrEqual(2e-6);
        }
        expect(maxAbsDiff(traj[s.numSteps], x0)).toBeLessThanOrEqual(2e-6);
      });
    }
  }

  it("UniPC and DPM++ agree on a non-linear field only up to their (different) second-order terms", () => {
    // A guard that the two multistep solvers are not accidentally the same first-order method.
    const velocity = (x: Float32Array, i: number) => Float32Array.from(x, (value, j) => Math.tanh(value) - x0[j] + 0.01 * i);
    const start = eps;
    const unipc = run(createScheduler("unipc", { steps: 10, shift: 5 }), start, velocity);
    const euler = run(createScheduler("euler", { steps: 10, shift: 5 }), start, velocity);
    // Step 0 is first order for both (UniP-1 and Euler differ: exponential vs linear in σ), later steps differ more.
    expect(maxAbsDiff(unipc[10], euler[10])).toBeGreaterThan(1e-3);
    for (const x of unipc) expect(x.every(Number.isFinite)).toBe(true);
  });
});

describe("starting part-way (image/video-to-video)", () => {
  const n = 129;
  const x0 = wave(n, 0.7);
  const eps = wave(n, 4.2);

  for (const solver of ["unipc", "dpmpp", "euler"] as const) {
    it(`${solver}: startStep k runs k…N−1 from the latent noised to σ_k and recovers x₀ on the straight path`, () => {
      const k = 4;
      const s = createScheduler(solver, { steps: 10, shift: 5, startStep: k });
      expect(s.startStep).toBe(k);
      expect(() => s.step(new Float32Array(n), 0, new Float32Array(n))).toThrow(/out of order/);
      const v = Float32Array.from(x0, (value, j) => eps[j] - value);
      const traj = run(s, forwardNoise(x0, eps, s.sigmas[k]), () => v);
      expect(traj.length).toBe(10 - k + 1);
      expect(maxAbsDiff(traj[traj.length - 1], x0)).toBeLessThanOrEqual(2e-6);
    });
  }

  it("the first step at k is first order with no corrector: UniPC equals DPM++ there, then they differ", () => {
    // UniP of order 1 and first-order DPM-Solver++ are the same update; the grids must match, so use Diffusers'.
    const k = 3;
    const opts = { steps: 10, shift: 5, grid: "diffusers" as const, startStep: k };
    const unipc = createScheduler("unipc", opts);
    const dpmpp = createScheduler("dpmpp", opts);
    const velocity = (x: Float32Array) => Float32Array.from(x, (value, j) => Math.tanh(value) - x0[j]);
    const x = forwardNoise(x0, eps, unipc.sigmas[k]);
    const u1 = unipc.step(velocity(x), k, x);
    const d1 = dpmpp.step(velocity(x), k, x);
    expect(maxAbsDiff(u1, d1)).toBeLessThanOrEqual(1e-6);
    const u2 = unipc.step(velocity(u1), k + 1, u1); // now with corrector + second-order predictor
    const d2 = dpmpp.step(velocity(d1), k + 1, d1);
    expect(maxAbsDiff(u2, d2)).toBeGreaterThan(1e-5);
  });

  it("a fresh start at k differs from continuing a run through k (the history is not carried over)", () => {
    const velocity = (x: Float32Array) => Float32Array.from(x, (value, j) => Math.tanh(value) - x0[j]);
    const full = createScheduler("unipc", { steps: 10, shift: 5 });
    const traj = run(full, eps, velocity);
    const k = 5;
    const partial = createScheduler("unipc", { steps: 10, shift: 5, startStep: k });
    const fromK = run(partial, traj[k], velocity);
    expect(maxAbsDiff(fromK[fromK.length - 1], traj[10])).toBeGreaterThan(0);
    expect(maxAbsDiff(fromK[fromK.length - 1], traj[10])).toBeLessThan(0.05); // same ODE, slightly different path
  });
});

describe("step contract", () => {
  it("rejects out-of-order, repeated and extra steps, and mismatched sizes", () => {
    const s = createScheduler("unipc", { steps: 2, shift: 5 });
    const x = new Float32Array(4).fill(1);
    expect(() => s.step(x, 1, x)).toThrow(/out of order/);
    expect(() => s.step(new Float32Array(3), 0, x)).toThrow(/model output/);
    const x1 = s.step(x, 0, x);
    expect(() => s.step(x, 0, x)).toThrow(/out of order/);
    expect(() => s.step(new Float32Array(5), 1, new Float32Array(5))).toThrow(/earlier steps/);
    s.step(x1, 1, x1);
    expect(() => s.step(x1, 2, x1)).toThrow(/after the last step/);
  });

  it("does not modify its inputs and returns float32", () => {
    const s = createScheduler("dpmpp", { steps: 3, shift: 8 });
    const x = Float32Array.from([0.5, -1, 2]);
    const v = Float32Array.from([0.1, 0.2, -0.3]);
    const out = s.step(v, 0, x);
    expect(out).toBeInstanceOf(Float32Array);
    expect(Array.from(x)).toEqual([0.5, -1, 2]);
    expect(Array.from(v)).toEqual(Array.from(Float32Array.from([0.1, 0.2, -0.3])));
  });
});
