/**
 * The GPU path, through ONNX Runtime's WebGPU provider: every parity golden on `webgpu` (≤ 1e-4), the whole
 * text-to-video loop within 1e-3 of the CPU run, exact attention at the DiT's real head size, and the VAE
 * caches kept on the device. On a machine without a GPU, Mesa's software Vulkan driver (lavapipe) gives
 * WebGPU an adapter; where no adapter exists at all these tests are skipped with a message saying what to
 * install.
 */
import { execFile } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareComponent } from "../../lib/engine/components.ts";
import { deviceTraffic, openSession, resetDeviceTraffic, resolveRuntime, type ResolvedRuntime } from "../../lib/engine/runtime.ts";
import { GraphBuilder } from "../../models/graph/builder.ts";
import { serializeInline } from "../../models/graph/save.ts";
import { convertModel } from "../../models/convert/convert.ts";
import { multiHeadAttention } from "../../models/nn.ts";
import { SafetensorsFile, writeSafetensors } from "../../models/weights/safetensors.ts";
import { goldenInputs, runComponent } from "../helpers/components.ts";
import { fixture, goldens, maxAbs, maxAbsDiff, tempDir } from "../helpers/fixtures.ts";

const run = promisify(execFile);
const cpu: ResolvedRuntime = { providers: ["cpu"], rejected: [], threads: 0 };
const webgpu = await resolveRuntime({ executionProviders: ["webgpu"], threads: 0 }).catch((e: Error) => e);
const available = !(webgpu instanceof Error);
if (!available) {
  console.warn(
    `WebGPU tests skipped: ${webgpu.message}. On Debian 12: add bookworm-backports to apt's sources, then ` +
      "`apt-get install -t bookworm-backports mesa-vulkan-drivers` (the software Vulkan driver; .ci/run does this).",
  );
}
const gpu = webgpu as ResolvedRuntime;

const work = tempDir("webgpu-test");
afterAll(() => rmSync(work, { recursive: true, force: true }));

// lavapipe compiles every shader on the CPU the first time a session runs it: minutes, not seconds, on 2 cores.
describe.skipIf(!available)("WebGPU execution provider", { timeout: 900_000 }, () => {
  const model = path.join(work, "tiny");
  beforeAll(async () => {
    await convertModel({ source: fixture(), outDir: model, precision: "fp32", textLen: 16 });
  });

  it("names the adapter it runs on; auto passes over a software adapter for the CPU", async () => {
    expect(gpu.providers[0]).toBe("webgpu");
    expect(gpu.adapter).toMatchObject({ backend: expect.any(String), description: expect.any(String) });
    expect(gpu.adapter!.limits.maxBufferSize).toBeGreaterThan(0);
    const auto = await resolveRuntime({ executionProviders: "auto", threads: 0 });
    if (gpu.adapter!.software) {
      expect(auto.providers).toEqual(["cpu"]);
      expect(auto.rejected.find((r) => r.provider === "webgpu")?.reason).toMatch(/software renderer/);
    } else {
      expect(auto.providers[0]).not.toBe("cpu");
    }
  });

  it("`npm run engine` on EXECUTION_PROVIDERS=webgpu says so and matches the golden", async () => {
    const inFile = path.join(work, "dit-in.safetensors");
    const inputs = await goldenInputs("goldens.safetensors", { x: "dit_case2_x", t: "dit_case2_t", context: "dit_case2_context" });
    await writeSafetensors(inFile, [...inputs].map(([name, t]) => ({ name, dtype: "float32" as const, shape: t.shape, data: t.data as Float32Array })));
    const outFile = path.join(work, "dit-out.safetensors");
    const { stdout } = await run(process.execPath, ["--import", "tsx", "cli/engine.ts", "run", "dit", "--model", model, "--in", inFile, "--out", outFile], {
      env: { ...process.env, EXECUTION_PROVIDERS: "webgpu" },
    });
    expect(stdout.split("\n")[0]).toMatch(/^execution provider: webgpu \(/);
    const out = await SafetensorsFile.open(outFile);
    expect(maxAbsDiff(await out.readFloat32("out"), await (await goldens()).readFloat32("dit_case2_out"))).toBeLessThanOrEqual(1e-4);
    await out.close();
  });

  it("computes attention exactly at the DiT's head size (2 heads of 128, 1,100 tokens): chunked, ≤ 1e-4 of the CPU", async () => {
    const [heads, d, L] = [2, 128, 1100];
    const g = new GraphBuilder("attention");
    const [q, k, v] = ["q", "k", "v"].map((n) => g.input(n, "float32", [1, "tokens", heads * d]));
    g.output(multiHeadAttention(q, k, v, heads), "y", [1, "tokens", heads * d]);
    const bytes = await serializeInline(g);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 6 - 3; // ±3: large logits
    const feeds = Object.fromEntries(
      ["q", "k", "v"].map((n) => [n, new ort.Tensor("float32", Float32Array.from({ length: L * heads * d }, random), [1, L, heads * d])]),
    );
    const run = async (runtime: ResolvedRuntime) => {
      const s = await openSession(bytes, runtime);
      try {
        return (await s.run(feeds)).y.data as Float32Array;
      } finally {
        await s.release();
      }
    };
    expect(maxAbsDiff(await run(gpu), await run(cpu))).toBeLessThanOrEqual(1e-4);
  });

  it("reproduces the DiT goldens (4 cases, ≤ 1e-4) and writes the exact-attention twin beside the graph", async () => {
    const G = await goldens();
    const dit = await prepareComponent("dit", { model }, gpu);
    try {
      for (const c of [1, 2, 3, 4]) {
        const inputs = await goldenInputs("goldens.safetensors", { x: `dit_case${c}_x`, t: `dit_case${c}_t`, context: `dit_case${c}_context` });
        const out = await dit.run(inputs);
        expect(maxAbsDiff(out.get("out")!.data as Float32Array, await G.readFloat32(`dit_case${c}_out`)), `dit_case${c}`).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      await dit.release();
    }
    // The attention lives in the blocks stage graph (the whole graph too, when a folder has only that).
    expect(readdirSync(model)).toContain("transformer_blocks.webgpu.onnx");
  });

  it("runs the fp16 DiT in half precision (shader-f16): within 2e-3 of the golden relative to its scale, as on the CPU", async () => {
    expect(gpu.adapter!.shaderF16).toBe(true);
    const fp16 = path.join(work, "fp16");
    await convertModel({ source: fixture("official"), outDir: fp16, precision: "fp16" });
    const G = await goldens();
    const dit = await prepareComponent("dit", { model: fp16 }, gpu);
    try {
      for (const c of [1, 3]) {
        const inputs = await goldenInputs("goldens.safetensors", { x: `dit_case${c}_x`, t: `dit_case${c}_t`, context: `dit_case${c}_context` });
        const out = await dit.run(inputs);
        const ref = await G.readFloat32(`dit_case${c}_out`);
        expect(maxAbsDiff(out.get("out")!.data as Float32Array, ref) / maxAbs(ref), `dit_case${c}`).toBeLessThan(2e-3);
      }
    } finally {
      await dit.release();
    }
  });

  it("reproduces the VAE encode and decode goldens (≤ 1e-4), the caches never leaving the device", async () => {
    const G = await goldens();
    for (const c of ["A", "B"]) {
      const enc = await runComponent(gpu, "vae-encode", model, await goldenInputs("goldens.safetensors", { video: `vae_enc${c}_video` }));
      expect(maxAbsDiff(enc.get("latent")!.data as Float32Array, await G.readFloat32(`vae_enc${c}_mean_normalized`))).toBeLessThanOrEqual(1e-4);
      resetDeviceTraffic();
      const dec = await runComponent(gpu, "vae-decode", model, await goldenInputs("goldens.safetensors", { latent: `vae_dec${c}_latent_normalized` }));
      const video = dec.get("video")!.data as Float32Array;
      expect(maxAbsDiff(video, await G.readFloat32(`vae_dec${c}_video`))).toBeLessThanOrEqual(1e-4);
      // What comes back is the video and, with per-frame graphs, each step's features for the per-frame
      // graph; the caches (each the size of several of those) stay on the device.
      expect(deviceTraffic.deviceToHost).toBeGreaterThanOrEqual(video.byteLength);
      expect(deviceTraffic.deviceToHost).toBeLessThan(4 * video.byteLength);
    }
  });

  it("reproduces the umT5 and CLIP goldens (≤ 1e-4)", async () => {
    const G = await goldens();
    const t5 = await prepareComponent("text-encoder", { model }, gpu);
    try {
      for (const c of [1, 2]) {
        const out = await t5.run(await goldenInputs("goldens.safetensors", { ids: `t5_case${c}_ids`, mask: `t5_case${c}_mask` }));
        expect(maxAbsDiff(out.get("hidden")!.data as Float32Array, await G.readFloat32(`t5_case${c}_hidden_trimmed`))).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      await t5.release();
    }
    const clip = await runComponent(gpu, "clip", model, await goldenInputs("goldens_clip.safetensors", { image: "clip_image" }));
    const C = await goldens("goldens_clip.safetensors");
    expect(maxAbsDiff(clip.get("clip_fea")!.data as Float32Array, await C.readFloat32("clip_fea"))).toBeLessThanOrEqual(1e-4);
  });

  it("runs the whole text-to-video loop: latents ≤ 1e-4 of the goldens, frames ≤ 1e-3 of the CPU run", async () => {
    const inputs = await goldenInputs("goldens.safetensors", { context: "e2e_context", context_null: "e2e_context_null", noise: "e2e_noise" });
    const opts = { steps: 10, shift: 5, guidance: 5, solver: "unipc" as const };
    const onGpu = await runComponent(gpu, "t2v", model, inputs, opts);
    const onCpu = await runComponent(cpu, "t2v", model, inputs, opts);
    const G = await goldens();
    expect(maxAbsDiff(onGpu.get("latents")!.data as Float32Array, await G.readFloat32("e2e_latents"))).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(onGpu.get("video")!.data as Float32Array, onCpu.get("video")!.data as Float32Array)).toBeLessThanOrEqual(1e-3);
  });
});
