/**
 * Wan VAE streaming graphs vs the official Wan 2.1 goldens (fixtures/wan-tiny): built from both checkpoint
 * layouts, saved with one shared data file, run through lib/engine/vae.ts; per-chunk intermediates for every
 * conv variant; the per-frame split against the unsplit graphs; the cache slot layout; key and config
 * parsing; named errors for wrong checkpoints.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVaeSessions, decodeLatents, encodeVideo, releaseVaeSessions, type VaeSessions } from "../../lib/engine/vae.ts";
import {
  vaeCacheSlots,
  vaeCacheValues,
  vaeParameterShapes,
  vaeSplitFeatures,
  WAN21_LATENTS_MEAN,
  WAN21_VAE_CONFIG,
  type WanVaeConfig,
} from "../../models/wan/vae-layout.ts";
import {
  isDiffusersVae,
  vaeConfigFromDiffusers,
  vaeConfigFromOfficial,
  vaeConfigFromShapes,
  vaeKeyFromDiffusers,
  vaeKeyToDiffusers,
} from "../../models/wan/vae-checkpoint.ts";
import {
  buildVaeGraphs,
  openVaeCheckpoint,
  saveVaeGraphs,
  VAE_DATA_FILE,
  VAE_GRAPH_FILES,
  type VaeGraphFiles,
} from "../../models/wan/vae-export.ts";
import { VAE_CONV_VARIANTS, type VaeConvVariant } from "../../models/wan/vae-ops.ts";
import { fixture } from "../helpers/fixtures.ts";
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from "../../models/weights/safetensors.ts";

const OFFICIAL_FILE = fixture("official", "wan_2.1_vae_tiny.safetensors");
const TOLERANCE = 1e-4;

const work = mkdtempSync(path.join(os.tmpdir(), "vae-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let goldens: SafetensorsFile;
beforeAll(async () => {
  goldens = await SafetensorsFile.open(fixture("goldens.safetensors"));
});
afterAll(async () => goldens?.close());
const golden = (name: string) => goldens.readFloat32(name);
const shapeOf = (name: string) => goldens.info(name).shape;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Frames [from, from+n) of a [C, T, H, W] tensor. */
function frames(x: Float32Array, C: number, T: number, HW: number, from: number, n: number): Float32Array {
  const out = new Float32Array(C * n * HW);
  for (let c = 0; c < C; c++) out.set(x.subarray((c * T + from) * HW, (c * T + from + n) * HW), c * n * HW);
  return out;
}

/** Converts a checkpoint into a fresh folder and opens the sessions of the graphs saved. */
async function convert(source: string, name: string, opts: { conv?: VaeConvVariant; debug?: boolean; perFrame?: boolean } = {}) {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const ck = await openVaeCheckpoint(source);
  let files: VaeGraphFiles;
  try {
    // An unsplit folder has no per-frame graphs, like one converted before the split: its manifest lists none.
    files = (await saveVaeGraphs(buildVaeGraphs(ck.store, ck.config, opts), dir)) as VaeGraphFiles;
  } finally {
    await ck.store.close();
  }
  const sessions = await createVaeSessions(dir, files, { providers: ["cpu"], rejected: [], threads: 0 });
  return { dir, sessions, config: ck.config, layout: ck.layout };
}

async function decodeAll(sessions: VaeSessions, c: "A" | "B") {
  const [, F, h, w] = shapeOf(`vae_dec${c}_latent_normalized`);
  const chunks: { frames: Float32Array; t: number }[] = [];
  for await (const chunk of decodeLatents(sessions, await golden(`vae_dec${c}_latent_normalized`), F, h, w)) chunks.push(chunk);
  return chunks;
}

function concatChunks(chunks: { frames: Float32Array; t: number }[], HW: number): Float32Array {
  const T = chunks.reduce((a, c) => a + c.t, 0);
  const out = new Float32Array(3 * T * HW);
  let t0 = 0;
  for (const ch of chunks) {
    for (let c = 0; c < 3; c++) out.set(ch.frames.subarray(c * ch.t * HW, (c + 1) * ch.t * HW), (c * T + t0) * HW);
    t0 += ch.t;
  }
  return out;
}

describe("Wan VAE: names, configuration, architecture", () => {
  const keyMap = JSON.parse(readFileSync(fixture("official", "key_map.json"), "utf8")).vae as Record<string, string>;

  it("maps every Diffusers name to the official one and back (key_map.json, 194 tensors)", () => {
    const pairs = Object.entries(keyMap);
    expect(pairs).toHaveLength(194);
    for (const [official, diffusers] of pairs) {
      expect(vaeKeyFromDiffusers(diffusers)).toBe(official);
      expect(vaeKeyToDiffusers(official)).toBe(diffusers);
      expect(vaeKeyFromDiffusers(official)).toBe(official); // official names pass through
    }
    expect(isDiffusersVae(Object.values(keyMap))).toBe(true);
    expect(isDiffusersVae(Object.keys(keyMap))).toBe(false);
  });

  it("reads the same configuration from the Diffusers config, the official config and the tensor shapes", async () => {
    const fromDiffusers = vaeConfigFromDiffusers(JSON.parse(readFileSync(fixture("vae", "config.json"), "utf8")));
    // The file also holds scheduler configs with a bare -Infinity, which JSON does not allow.
    const officialText = readFileSync(fixture("official", "official_configs.json"), "utf8").replace(/-Infinity/g, "null");
    const fromOfficial = vaeConfigFromOfficial(JSON.parse(officialText));
    const file = await SafetensorsFile.open(OFFICIAL_FILE);
    const names = [...file.tensors.keys()];
    const fromShapes = vaeConfigFromShapes((n) => file.tensors.get(n)?.shape, names);
    await file.close();
    const expected: WanVaeConfig = { ...WAN21_VAE_CONFIG, baseDim: 8 };
    expect(fromDiffusers).toEqual(expected);
    expect(fromOfficial).toEqual(expected);
    expect(fromShapes).toEqual(expected);
    expect(fromShapes.latentsMean).toEqual(WAN21_LATENTS_MEAN);
  });

  it("lists exactly the checkpoint's tensors, and the real model's 194 tensors / 126,892,531 parameters (official wan/modules/vae.py, _video_vae)", async () => {
    const file = await SafetensorsFile.open(OFFICIAL_FILE);
    const stored = new Map([...file.tensors.values()].map((t) => [t.name, t.shape]));
    await file.close();
    expect(new Map(vaeParameterShapes({ ...WAN21_VAE_CONFIG, baseDim: 8 }))).toEqual(stored);
    const real = vaeParameterShapes(WAN21_VAE_CONFIG);
    expect(real.size).toBe(194);
    expect([...real.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0)).toBe(126_892_531);
  });

  it("has the cache slot layout of official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode (decoder 32 slots, encoder 24; 3.78 GB / 2.24 GB fp32 at 480×832)", () => {
    const dec = vaeCacheSlots(WAN21_VAE_CONFIG, "decoder");
    const enc = vaeCacheSlots(WAN21_VAE_CONFIG, "encoder");
    expect(dec).toHaveLength(32);
    expect(enc).toHaveLength(24);
    const row = (s: { channels: number; frames: number; scale: number }) => [s.channels, s.frames, s.scale];
    expect(row(dec[0])).toEqual([16, 2, 1]);
    expect(dec.slice(1, 11).every((s) => s.channels === 384 && s.scale === 1)).toBe(true);
    expect(dec[11]).toMatchObject({ module: "decoder.upsamples.3.time_conv", channels: 384, scale: 1 });
    expect(row(dec[12])).toEqual([192, 2, 2]);
    expect(dec[18]).toMatchObject({ module: "decoder.upsamples.7.time_conv", channels: 384, scale: 2 });
    expect(dec.slice(19, 25).every((s) => s.channels === 192 && s.scale === 4)).toBe(true);
    expect(dec.slice(25).every((s) => s.channels === 96 && s.scale === 8)).toBe(true);
    expect(enc.filter((s) => s.frames === 1).map((s) => [s.index, s.channels, s.scale])).toEqual([
      [9, 192, 1 / 4],
      [14, 384, 1 / 8],
    ]);
    expect(vaeCacheValues(WAN21_VAE_CONFIG, "decoder", 60, 104)).toBe(944_286_720);
    expect(vaeCacheValues(WAN21_VAE_CONFIG, "encoder", 480, 832)).toBe(560_701_440);
  });

  it("splits off the per-frame part: decoder slots 19–31 after the last upsample3d, encoder 0–8 before the first time_conv", () => {
    const perFrame = (side: "encoder" | "decoder") =>
      vaeCacheSlots(WAN21_VAE_CONFIG, side)
        .filter((s) => s.perFrame)
        .map((s) => s.index);
    expect(perFrame("decoder")).toEqual(Array.from({ length: 13 }, (_, i) => 19 + i));
    expect(perFrame("encoder")).toEqual(Array.from({ length: 9 }, (_, i) => i));
    const dec = vaeCacheSlots(WAN21_VAE_CONFIG, "decoder");
    expect(dec[18].module).toBe("decoder.upsamples.7.time_conv"); // the last slot of the step graph
    expect(dec[19]).toMatchObject({ module: "decoder.upsamples.8.residual.2", channels: 192, scale: 4 });
    expect(vaeCacheSlots(WAN21_VAE_CONFIG, "encoder")[9].module).toBe("encoder.downsamples.5.time_conv");
    // The hand-over tensors: 384 channels at 2h×2w (decoder), 192 at H/4×W/4 (encoder).
    expect(vaeSplitFeatures(WAN21_VAE_CONFIG, "decoder")).toEqual({ channels: 384, scale: 2 });
    expect(vaeSplitFeatures(WAN21_VAE_CONFIG, "encoder")).toEqual({ channels: 192, scale: 1 / 4 });
  });
});

describe.each(["official", "diffusers"] as const)("Wan VAE from the %s layout, through the engine", (layout) => {
  let conv: Awaited<ReturnType<typeof convert>>;
  beforeAll(async () => {
    conv = await convert(layout === "official" ? OFFICIAL_FILE : fixture("vae"), `engine-${layout}`);
  });
  afterAll(async () => conv && releaseVaeSessions(conv.sessions));

  it("detects the layout and stores each weight once in one shared data file", () => {
    expect(conv.layout).toBe(layout);
    expect(readdirSync(conv.dir).sort()).toEqual([...Object.values(VAE_GRAPH_FILES), VAE_DATA_FILE].sort());
    const weights = [...vaeParameterShapes(conv.config).values()].reduce((a, s) => a + 4 * s.reduce((x, y) => x * y, 1), 0);
    const data = statSync(path.join(conv.dir, VAE_DATA_FILE)).size;
    // Not twice: first and step graphs share the data file (the excess is page alignment of each tensor).
    expect(data).toBeLessThan(1.5 * weights);
    expect(data).toBeGreaterThan(0.9 * weights);
  });

  it("shares the cache slots between first, per-frame and step graphs (encoder 24 = 9 + 15, decoder 32 = 19 + 13)", () => {
    const { sessions } = conv;
    const slots = (names: readonly string[], pattern: RegExp) =>
      names.flatMap((n) => pattern.exec(n)?.[1] ?? []).map(Number).sort((a, b) => a - b);
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    const cacheIn = /^cache_in\.(\d+)$/;
    const out = /^cache_out\.(\d+)$/;
    expect(slots(sessions.encoderFirst.outputNames, out)).toEqual(range(0, 24));
    expect(slots(sessions.encoderFrame!.inputNames, /^cache_in\.(\d+)\.0$/)).toEqual(range(0, 9));
    expect(slots(sessions.encoderFrame!.inputNames, /^cache_in\.(\d+)\.1$/)).toEqual(range(0, 9));
    expect(slots(sessions.encoderFrame!.outputNames, out)).toEqual(range(0, 9));
    expect(slots(sessions.encoderStep.inputNames, cacheIn)).toEqual(range(9, 24));
    expect(slots(sessions.encoderStep.outputNames, out)).toEqual(range(9, 24));
    expect(slots(sessions.decoderFirst.outputNames, out)).toEqual(range(0, 32));
    expect(slots(sessions.decoderStep.inputNames, cacheIn)).toEqual(range(0, 19));
    expect(slots(sessions.decoderStep.outputNames, out)).toEqual(range(0, 19));
    expect(slots(sessions.decoderFrame!.inputNames, /^cache_in\.(\d+)\.0$/)).toEqual(range(19, 32));
    expect(slots(sessions.decoderFrame!.outputNames, out)).toEqual(range(19, 32));
    expect(sessions.decoderFrame!.inputNames.length).toBe(1 + 2 * 13); // features + two frames per slot
  });

  it.each(["A", "B"] as const)("encodes vae_enc%s to mean_normalized (max abs err ≤ 1e-4)", async (c) => {
    const [, T, H, W] = shapeOf(`vae_enc${c}_video`);
    const latent = await encodeVideo(conv.sessions, await golden(`vae_enc${c}_video`), T, H, W);
    const err = maxAbsDiff(latent, await golden(`vae_enc${c}_mean_normalized`));
    console.log(`[vae ${layout}] enc${c} mean_normalized max abs err ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(TOLERANCE);
  });

  it.each(["A", "B"] as const)("streams vae_dec%s in chunks of 1, 4, 4… that concatenate to the golden video", async (c) => {
    const [, T, H, W] = shapeOf(`vae_dec${c}_video`);
    const chunks = await decodeAll(conv.sessions, c);
    expect(chunks.map((ch) => ch.t)).toEqual([1, ...Array(shapeOf(`vae_dec${c}_latent_normalized`)[1] - 1).fill(4)]);
    const video = concatChunks(chunks, H * W);
    expect(video.length).toBe(3 * T * H * W);
    const err = maxAbsDiff(video, await golden(`vae_dec${c}_video`));
    console.log(`[vae ${layout}] dec${c} video max abs err ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.max(...video.map(Math.abs))).toBeLessThanOrEqual(1); // clamped
  });

  it("drops trailing frames beyond 4n+1 when encoding (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode)", async () => {
    const [, T, H, W] = shapeOf("vae_encB_video"); // 5 frames
    const video = await golden("vae_encB_video");
    const longer = new Float32Array(3 * (T + 3) * H * W).map(() => Math.random() * 2 - 1);
    for (let c = 0; c < 3; c++) longer.set(video.subarray(c * T * H * W, (c + 1) * T * H * W), c * (T + 3) * H * W);
    const latent = await encodeVideo(conv.sessions, longer, T + 3, H, W);
    expect(maxAbsDiff(latent, await golden("vae_encB_mean_normalized"))).toBeLessThanOrEqual(TOLERANCE);
  });

  it("stops decoding between chunks when the signal is aborted", async () => {
    const [, F, h, w] = shapeOf("vae_decA_latent_normalized");
    const ac = new AbortController();
    const seen: number[] = [];
    const run = async () => {
      for await (const chunk of decodeLatents(conv.sessions, await golden("vae_decA_latent_normalized"), F, h, w, {
        signal: ac.signal,
      })) {
        seen.push(chunk.t);
        ac.abort();
      }
    };
    await expect(run()).rejects.toMatchObject({ name: "AbortError" });
    expect(seen).toEqual([1]);
  });
});

type Outputs = ort.InferenceSession.OnnxValueMapType;

/**
 * The feature cache as plain name bookkeeping, independent of the engine's buffer reuse: a per-frame slot i
 * (a graph input `cache_in.i.0`) gets frames (older, newer) = (previous newer, `cache_out.i`) — zero and the
 * emitted frame after a first graph —, any other slot `cache_in.i` = `cache_out.i`.
 */
class NamedCache {
  private feeds: Record<string, ort.Tensor> = {};

  feedsFor(session: ort.InferenceSession): Record<string, ort.Tensor> {
    return Object.fromEntries(session.inputNames.filter((n) => n.startsWith("cache_in.")).map((n) => [n, this.feeds[n]]));
  }

  update(out: Outputs): void {
    for (const [name, t] of Object.entries(out)) {
      const i = /^cache_out\.(\d+)$/.exec(name)?.[1];
      if (i === undefined) continue;
      const tensor = t as ort.Tensor;
      this.feeds[`cache_in.${i}`] = tensor;
      const newer = this.feeds[`cache_in.${i}.1`];
      this.feeds[`cache_in.${i}.0`] = newer ?? new ort.Tensor("float32", new Float32Array(tensor.size), tensor.dims);
      this.feeds[`cache_in.${i}.1`] = tensor;
    }
  }

  async run(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<Outputs> {
    const out = await session.run({ ...feeds, ...this.feedsFor(session) });
    this.update(out);
    return out;
  }
}

/** Concatenates frames-first single-frame tensors [1, …] into [n, …]. */
function stackFrames(frames: ort.Tensor[]): ort.Tensor {
  const data = new Float32Array(frames.reduce((a, f) => a + f.size, 0));
  frames.reduce((at, f) => (data.set(f.data as Float32Array, at), at + f.size), 0);
  return new ort.Tensor("float32", data, [frames.length, ...frames[0].dims.slice(1)]);
}

/** Concatenates NCTHW videos [1, 3, t, H, W] in time. */
function concatVideo(parts: ort.Tensor[]): ort.Tensor {
  const [, C, , H, W] = parts[0].dims;
  const T = parts.reduce((a, p) => a + p.dims[2], 0);
  const data = new Float32Array(C * T * H * W);
  let t0 = 0;
  for (const p of parts) {
    const t = p.dims[2];
    for (let c = 0; c < C; c++) data.set((p.data as Float32Array).subarray(c * t * H * W, (c + 1) * t * H * W), (c * T + t0) * H * W);
    t0 += t;
  }
  return new ort.Tensor("float32", data, [1, C, T, H, W]);
}

/** Encoder chunks through the graphs directly: first graph, then per chunk 4 per-frame calls and a step. */
async function encodeChunks(s: VaeSessions, chunks: ort.Tensor[][]): Promise<Outputs[]> {
  const cache = new NamedCache();
  const results = [await cache.run(s.encoderFirst, { video: chunks[0][0] })];
  for (const frames of chunks.slice(1)) {
    const features: ort.Tensor[] = [];
    for (const video of frames) features.push((await cache.run(s.encoderFrame!, { video })).features as ort.Tensor);
    results.push(await cache.run(s.encoderStep, { features: stackFrames(features) }));
  }
  return results;
}

/** Decoder latents through the graphs directly: first graph, then per latent a step and 4 per-frame calls. */
async function decodeChunks(s: VaeSessions, latents: ort.Tensor[]): Promise<ort.Tensor[]> {
  const cache = new NamedCache();
  const results = [(await cache.run(s.decoderFirst, { latent: latents[0] })).video_unclamped as ort.Tensor];
  for (const latent of latents.slice(1)) {
    const features = (await cache.run(s.decoderStep, { latent })).features as ort.Tensor;
    const [T, ...rest] = features.dims;
    const n = features.size / T;
    const frames: ort.Tensor[] = [];
    for (let k = 0; k < T; k++) {
      const view = new ort.Tensor("float32", (features.data as Float32Array).slice(k * n, (k + 1) * n), [1, ...rest]);
      frames.push((await cache.run(s.decoderFrame!, { features: view })).video_unclamped as ort.Tensor);
    }
    results.push(concatVideo(frames));
  }
  return results;
}

describe.each([...VAE_CONV_VARIANTS])("Wan VAE per-chunk intermediates, conv variant %s", (variant) => {
  let conv: Awaited<ReturnType<typeof convert>>;
  beforeAll(async () => {
    conv = await convert(OFFICIAL_FILE, `debug-${variant}`, { conv: variant, debug: true });
  });
  afterAll(async () => conv && releaseVaeSessions(conv.sessions));

  it.each(["A", "B"] as const)("matches each encoder chunk output and mean_raw of vae_enc%s", async (c) => {
    const [, T, H, W] = shapeOf(`vae_enc${c}_video`);
    const video = await golden(`vae_enc${c}_video`);
    const frame = (t: number) => new ort.Tensor("float32", frames(video, 3, T, H * W, t, 1), [1, 3, 1, H, W]);
    const chunks = [[frame(0)], ...Array.from({ length: (T - 1) / 4 }, (_, i) => [1, 2, 3, 4].map((k) => frame(4 * i + k)))];
    const outs = await encodeChunks(conv.sessions, chunks);
    const meanRaw = await golden(`vae_enc${c}_mean_raw`);
    const [z, F, h, w] = shapeOf(`vae_enc${c}_mean_raw`);
    let worst = 0;
    for (const [i, out] of outs.entries()) {
      worst = Math.max(worst, maxAbsDiff(out.encoder_out.data as Float32Array, await golden(`vae_enc${c}_chunk${i}_encoder_out`)));
      worst = Math.max(worst, maxAbsDiff(out.mean_raw.data as Float32Array, frames(meanRaw, z, F, h * w, i, 1)));
    }
    console.log(`[vae ${variant}] enc${c} per-chunk encoder_out / mean_raw max abs err ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  });

  it.each(["A", "B"] as const)("matches each decoder chunk output (unclamped) of vae_dec%s", async (c) => {
    const [z, F, h, w] = shapeOf(`vae_dec${c}_latent_normalized`);
    const latent = await golden(`vae_dec${c}_latent_normalized`);
    const inputs = Array.from({ length: F }, (_, f) => new ort.Tensor("float32", frames(latent, z, F, h * w, f, 1), [1, z, 1, h, w]));
    const outs = await decodeChunks(conv.sessions, inputs);
    let worst = 0;
    for (const [i, out] of outs.entries()) {
      const ref = await golden(`vae_dec${c}_chunk${i}_decoder_out`);
      expect(out.dims).toEqual([1, ...shapeOf(`vae_dec${c}_chunk${i}_decoder_out`)]);
      worst = Math.max(worst, maxAbsDiff(out.data as Float32Array, ref));
    }
    console.log(`[vae ${variant}] dec${c} per-chunk decoder_out max abs err ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  });
});

/** Uniform values in [-a, a] from a fixed seed (mulberry32). */
function seeded(n: number, seed: number, a = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return a * ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1);
  });
}

describe.each([...VAE_CONV_VARIANTS])("Wan VAE per-frame split vs the unsplit graphs, conv variant %s", (variant) => {
  let split: Awaited<ReturnType<typeof convert>>;
  let whole: Awaited<ReturnType<typeof convert>>;
  beforeAll(async () => {
    split = await convert(OFFICIAL_FILE, `split-${variant}`, { conv: variant });
    whole = await convert(OFFICIAL_FILE, `whole-${variant}`, { conv: variant, perFrame: false });
  });
  afterAll(async () => {
    if (split) await releaseVaeSessions(split.sessions);
    if (whole) await releaseVaeSessions(whole.sessions);
  });

  it("builds no per-frame graphs unsplit (a folder converted before the split), and the engine runs both", () => {
    expect(whole.sessions.decoderFrame).toBeUndefined();
    expect(whole.sessions.encoderFrame).toBeUndefined();
    expect(split.sessions.decoderFrame).toBeDefined();
    expect(split.sessions.encoderFrame).toBeDefined();
  });

  it("decodes a random 5-frame latent to the same video, chunk by chunk (max abs diff ≤ 1e-6)", async () => {
    const [F, h, w] = [5, 4, 6];
    const latent = seeded(16 * F * h * w, 7, 2);
    const run = async (s: VaeSessions) => {
      const chunks: { frames: Float32Array; t: number }[] = [];
      for await (const chunk of decodeLatents(s, latent, F, h, w)) chunks.push({ frames: chunk.frames.slice(), t: chunk.t });
      return chunks;
    };
    const [a, b] = [await run(split.sessions), await run(whole.sessions)];
    expect(a.map((c) => c.t)).toEqual([1, 4, 4, 4, 4]);
    expect(b.map((c) => c.t)).toEqual(a.map((c) => c.t));
    const err = Math.max(...a.map((c, i) => maxAbsDiff(c.frames, b[i].frames)));
    // Not a degenerate video: most values inside the clamp range, and not all near zero.
    const values = a.flatMap((c) => [...c.frames]);
    const inside = values.filter((v) => Math.abs(v) < 1).length / values.length;
    const mean = values.reduce((m, v) => m + Math.abs(v), 0) / values.length;
    console.log(`[vae ${variant}] split vs unsplit decode max abs diff ${err.toExponential(2)} (${(100 * inside).toFixed(0)}% unclamped, mean |v| ${mean.toFixed(2)})`);
    expect(inside).toBeGreaterThan(0.5);
    expect(mean).toBeGreaterThan(0.05);
    expect(err).toBeLessThanOrEqual(1e-6);
  });

  it("encodes a random 13-frame video to the same latent (max abs diff ≤ 1e-6)", async () => {
    const [T, H, W] = [13, 32, 48];
    const video = seeded(3 * T * H * W, 11);
    const a = await encodeVideo(split.sessions, video, T, H, W);
    const b = await encodeVideo(whole.sessions, video, T, H, W);
    const err = maxAbsDiff(a, b);
    console.log(`[vae ${variant}] split vs unsplit encode max abs diff ${err.toExponential(2)}`);
    expect(a.length).toBe(16 * 4 * (H / 8) * (W / 8));
    expect(err).toBeLessThanOrEqual(1e-6);
  });
});

describe("Wan VAE: wrong checkpoints fail with the tensor named", () => {
  async function corrupted(name: string, edit: (tensors: TensorToWrite[]) => TensorToWrite[]): Promise<string> {
    const src = await SafetensorsFile.open(OFFICIAL_FILE);
    const tensors: TensorToWrite[] = [];
    for (const t of src.tensors.values()) {
      tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await src.readFloat32(t.name) });
    }
    await src.close();
    const file = path.join(work, `${name}.safetensors`);
    await writeSafetensors(file, edit(tensors));
    return file;
  }
  const build = async (file: string) => {
    const ck = await openVaeCheckpoint(file);
    try {
      buildVaeGraphs(ck.store, ck.config);
    } finally {
      await ck.store.close();
    }
  };

  it("rejects the DiT checkpoint given as a VAE (single file and Diffusers folder)", async () => {
    await expect(build(fixture("official", "wan2.1_t2v_tiny.safetensors"))).rejects.toThrow(/missing tensor encoder\.conv1\.weight/);
    await expect(build(fixture("transformer"))).rejects.toThrow(/missing tensor encoder\.conv1\.weight/);
  });

  it("names a missing tensor", async () => {
    const file = await corrupted("missing", (ts) => ts.filter((t) => t.name !== "decoder.middle.1.proj.bias"));
    await expect(build(file)).rejects.toThrow(/missing tensor decoder\.middle\.1\.proj\.bias/);
  });

  it("names a mis-shaped tensor with both shapes", async () => {
    const name = "decoder.upsamples.4.residual.2.weight";
    const file = await corrupted("reshaped", (ts) =>
      ts.map((t) => (t.name === name ? { ...t, shape: [t.shape[1], t.shape[0], ...t.shape.slice(2)] } : t)),
    );
    await expect(build(file)).rejects.toThrow(/decoder\.upsamples\.4\.residual\.2\.weight .*has shape \[16,32,3,3,3\], expected \[32,16,3,3,3\]/);
  });

  it("names an unexpected tensor", async () => {
    const file = await corrupted("extra", (ts) => [
      ...ts,
      { name: "decoder.extra.weight", dtype: "float32", shape: [2], data: new Float32Array(2) },
    ]);
    await expect(build(file)).rejects.toThrow(/unexpected tensor decoder\.extra\.weight/);
  });
});
