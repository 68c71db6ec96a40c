/**
 * Denoising checkpoints on the tiny model's real DiT: a run resumed from the checkpoint of any finished step ends
 * with exactly the latent (Float32Array equality) of the run never interrupted, for every solver, with step
 * caching (TeaCache, MagCache) and with a held first frame; taking checkpoints changes nothing; the encoding
 * round-trips exactly and recognises damaged, torn, foreign and mismatched checkpoints.
 */
import { rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkpointFingerprint,
  CheckpointFormatError,
  CheckpointMismatchError,
  decodeCheckpoint,
  encodeCheckpoint,
  type DenoiseCheckpoint,
} from "../../lib/engine/checkpoint.ts";
import { latentShapeFor } from "../../lib/engine/conditioning.ts";
import { denoise, type DenoiseOptions, type DenoiseResult } from "../../lib/engine/denoise.ts";
import { loadModel, type LoadedModel } from "../../lib/engine/model.ts";
import { gaussianNoise } from "../../lib/engine/noise.ts";
import { resolveRuntime } from "../../lib/engine/runtime.ts";
import { createScheduler } from "../../lib/engine/schedulers/create-scheduler.ts";
import type { StepCacheSettings } from "../../lib/engine/speed.ts";
import type { Solver } from "../../lib/schemas/generation.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { installTinyModel } from "../helpers/models.ts";

const work = tempDir("checkpoint-test");
let model: LoadedModel;
let cond: { data: Float32Array; rows: number };
let uncond: { data: Float32Array; rows: number };

beforeAll(async () => {
  const dir = await installTinyModel(path.join(work, "models"));
  model = await loadModel(dir, await resolveRuntime({ executionProviders: ["cpu"], threads: 0 }));
  const [c, u] = [await model.prompts.encode("a red fox in the snow"), await model.prompts.encode("blurry")];
  cond = { data: c.data, rows: c.rows };
  uncond = { data: u.data, rows: u.rows };
});
afterAll(async () => {
  await model?.release();
  rmSync(work, { recursive: true, force: true });
});

type Case = { name: string; solver: Solver; steps: number; guidance: number; stepCache?: StepCacheSettings; firstFrame?: boolean };

const SEED = 1234;
const shape = () => latentShapeFor(9, 96, 160, model.zDim, model.vaeScale);
const fingerprintOf = (c: Case) => checkpointFingerprint({ ...c, seed: SEED, shape: shape() });

/** One denoising run of a case; `checkpoints` are taken (every `every` steps) and/or resumed from. */
function run(c: Case, checkpoints?: Partial<NonNullable<DenoiseOptions["checkpoints"]>>): Promise<DenoiseResult> {
  const s = shape();
  const n = s.channels * s.frames * s.height * s.width;
  const scheduler = createScheduler(c.solver, { steps: c.steps, shift: 5, seed: SEED });
  const frame0 = c.firstFrame ? { latent: gaussianNoise(99, s.channels * s.height * s.width) } : undefined;
  return denoise({
    dit: model.dit,
    scheduler,
    shape: s,
    initial: scheduler.initialSample(gaussianNoise(SEED, n)),
    cond,
    uncond,
    guidance: c.guidance,
    firstFrame: frame0,
    stepCache: c.stepCache,
    checkpoints: checkpoints && { fingerprint: fingerprintOf(c), every: 0, onCheckpoint: () => {}, ...checkpoints },
  });
}

// The tiny model's random weights move TeaCache's estimate by ~1000–3000 per step, so its threshold here is 3000
// (computed and skipped steps alternate), not the 1.3B presets' 0.05–0.08.
const CASES: Case[] = [
  { name: "UniPC", solver: "unipc", steps: 6, guidance: 5 },
  { name: "DPM++", solver: "dpmpp", steps: 6, guidance: 5 },
  { name: "Euler", solver: "euler", steps: 5, guidance: 5 },
  { name: "rCM (fresh noise at every step)", solver: "rcm", steps: 4, guidance: 1 },
  { name: "UniPC with TeaCache", solver: "unipc", steps: 8, guidance: 5, stepCache: { rule: "teacache", mode: "e", threshold: 3000 } },
  { name: "UniPC with MagCache", solver: "unipc", steps: 8, guidance: 5, stepCache: { rule: "magcache", threshold: 0.5, maxSkips: 2, retention: 0.2 } },
  { name: "UniPC with a held first frame", solver: "unipc", steps: 5, guidance: 5, firstFrame: true },
];

describe("resuming from a checkpoint gives the uninterrupted trajectory, bit for bit", () => {
  for (const c of CASES) {
    it(`${c.name}: resumed at every step == uninterrupted`, async () => {
      const plain = await run(c);
      // Every step's checkpoint, stored as the worker stores it (encoded bytes).
      const stored: Uint8Array[] = [];
      const taken = await run(c, { every: 1, onCheckpoint: (cp) => void stored.push(encodeCheckpoint(cp)) });
      expect(taken.latent).toEqual(plain.latent); // taking checkpoints changes nothing
      expect(stored).toHaveLength(c.steps);
      if (c.stepCache) {
        // The cache must actually skip for the test to mean something.
        expect(plain.ditCalls.skipped).toBeGreaterThan(0);
        expect(plain.ditCalls.skipped).toBeLessThan(plain.ditCalls.calls);
      }
      for (const bytes of stored) {
        const cp = decodeCheckpoint(bytes);
        const resumed = await run(c, { resumeFrom: cp });
        expect(resumed.resumedFromStep).toBe(cp.step);
        // Float32Array equality, element by element: not a tolerance.
        expect(resumed.latent).toEqual(plain.latent);
        expect(Buffer.from(resumed.latent.buffer).equals(Buffer.from(plain.latent.buffer))).toBe(true);
        expect(resumed.ditCalls).toEqual(plain.ditCalls);
        expect(resumed.decisions).toEqual(plain.decisions);
      }
    });
  }

  it("a checkpoint is asked for between steps (requested) as well as every K steps", async () => {
    const c = CASES[0];
    const steps: number[] = [];
    let ask = false;
    await run(c, {
      every: 4,
      requested: () => ask,
      onCheckpoint: (cp) => {
        steps.push(cp.step);
        ask = false;
      },
    });
    expect(steps).toEqual([4]);
    steps.length = 0;
    ask = true;
    await run(c, { every: 4, requested: () => ask, onCheckpoint: (cp) => { steps.push(cp.step); ask = false; } });
    expect(steps).toEqual([1, 4]);
  });
});

describe("a checkpoint for another run is refused", () => {
  const c = CASES[0];
  let cp: DenoiseCheckpoint;
  beforeAll(async () => {
    await run(c, { every: 3, onCheckpoint: (x) => void (cp ??= decodeCheckpoint(encodeCheckpoint(x))) });
  });

  it("other settings (fingerprint)", async () => {
    await expect(run({ ...c, guidance: 4 }, { resumeFrom: cp })).rejects.toThrow(CheckpointMismatchError);
  });
  it("another step count, another solver, step caching on or off", async () => {
    // Same fingerprint on purpose: the state itself is checked too.
    const forged = (x: Partial<DenoiseCheckpoint>) => ({ ...cp, ...x });
    await expect(run(c, { resumeFrom: forged({ total: 8 }) })).rejects.toThrow(CheckpointMismatchError);
    await expect(run(c, { resumeFrom: forged({ stepCache: { values: {}, arrays: {} } }) })).rejects.toThrow(CheckpointMismatchError);
    await expect(run(c, { resumeFrom: forged({ scheduler: { values: { next: 3, size: cp.latent.length, qPrev: 2 }, arrays: {} } }) })).rejects.toThrow(
      CheckpointMismatchError,
    );
    await expect(run(c, { resumeFrom: forged({ latent: cp.latent.subarray(1) }) })).rejects.toThrow(CheckpointMismatchError);
  });
});

describe("checkpoint encoding", () => {
  const sample: DenoiseCheckpoint = {
    fingerprint: "f".repeat(64),
    step: 3,
    total: 8,
    latent: Float32Array.from([1, -2.5, 3e-38, -0, NaN]),
    scheduler: { values: { next: 3, size: 5, qPrev: 2 }, arrays: { mPrev: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5]) } },
    stepCache: { values: { distance: [Infinity, -Infinity, -0, 0.1 + 0.2], calls: 4 }, arrays: { "residual.0": new Float32Array(7).fill(0.25) } },
  };

  it("round-trips every value exactly (±∞, NaN, −0, float64 numbers)", () => {
    const back = decodeCheckpoint(encodeCheckpoint(sample));
    expect(back).toEqual(sample);
    expect(Object.is(back.stepCache!.values.distance[2 as never], -0)).toBe(true);
    expect(Object.is(back.latent[3], -0)).toBe(true);
  });

  it("has the documented layout: magic, version 1, 4-byte aligned float32 payloads, CRC last", () => {
    const bytes = Buffer.from(encodeCheckpoint(sample));
    expect(bytes.subarray(0, 8).toString("latin1")).toBe("WANCKPT\0");
    expect(bytes.readUInt32LE(8)).toBe(1);
    const payload = (16 + bytes.readUInt32LE(12) + 3) & ~3;
    expect(bytes.readFloatLE(payload + 4)).toBe(-2.5);
    expect(bytes.length).toBe(payload + (5 + 5 + 7) * 4 + 4);
  });

  it("recognises damaged, torn and foreign files", () => {
    const bytes = Buffer.from(encodeCheckpoint(sample));
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 10] ^= 1;
    expect(() => decodeCheckpoint(flipped)).toThrow(CheckpointFormatError);
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 5))).toThrow(CheckpointFormatError);
    expect(() => decodeCheckpoint(Buffer.from("not a checkpoint at all"))).toThrow(CheckpointFormatError);
    expect(() => decodeCheckpoint(new Uint8Array(0))).toThrow(CheckpointFormatError);
    const version2 = Buffer.from(bytes);
    version2.writeUInt32LE(2, 8);
    expect(() => decodeCheckpoint(version2)).toThrow(/version 2/);
  });

  it("the fingerprint ignores key order and undefined members, and sees every value", () => {
    expect(checkpointFingerprint({ a: 1, b: { c: 2, d: undefined } })).toBe(checkpointFingerprint({ b: { c: 2 }, a: 1 }));
    expect(checkpointFingerprint({ a: 1, seed: 5 })).not.toBe(checkpointFingerprint({ a: 1, seed: 6 }));
  });
});
