/**
 * `npm run device:pack` builds a bundle that fits what a device call may carry, and the bundle runs on its
 * own: its run.sh unpacks its Node binary and ONNX Runtime, and `--smoke` runs the tiny model through the
 * bundled benchmark on whatever this machine has (lavapipe WebGPU where installed, else the CPU), printing
 * the report the GPU run prints. The bundle is copied out of the checkout first, so nothing resolves from the
 * repository's node_modules.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/fixtures.ts";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const work = tempDir("device-pack-test");
const built = path.join(work, "built");
const pack = path.join(work, "elsewhere", "pack");
const PACK_LIMIT = 60 * 2 ** 20;

function bytesUnder(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (sum, e) => sum + (e.isDirectory() ? bytesUnder(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).size),
    0,
  );
}

type Report = {
  workload: string;
  latent: number[];
  video: { frames: number; height: number; width: number };
  provider: { requested: string[]; sessions: string[] };
  adapter: { description: string; backend: string } | null;
  node: string;
  dit?: { steps: number; batch: number; secondsPerStep: number; stepSeconds: number[]; finite: boolean };
  decode?: { seconds: number; frames: number };
  hostDeviceBytes?: Record<"warmup" | "steps" | "decode", { hostToDevice: number; deviceToHost: number; calls: number }> & { perStep: number };
  gpuMemory?: { tool: string | null };
  error?: string;
};

async function runBundle(args: string[]): Promise<{ report: Report; stdout: string }> {
  const { stdout } = await run("sh", [path.join(pack, "run.sh"), ...args], {
    cwd: work,
    env: { ...process.env, XDG_RUNTIME_DIR: "/tmp" },
    maxBuffer: 1 << 24,
  });
  return { report: JSON.parse(stdout.trim().split("\n").at(-1)!) as Report, stdout };
}

beforeAll(async () => {
  // Cold, this compresses Node and ONNX Runtime (minutes on 2 cores); later runs reuse data/device-pack-cache.
  await run(process.execPath, ["--import", "tsx", path.join(root, "cli", "device-pack.ts"), "--out", built], { cwd: root, maxBuffer: 1 << 24 });
  cpSync(built, pack, { recursive: true });
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("device:pack", () => {
  it("writes a self-contained folder within the size limit", () => {
    const size = bytesUnder(built);
    expect(size).toBeLessThanOrEqual(PACK_LIMIT);
    for (const f of [
      "run.sh",
      "bench.mjs",
      "node.xz",
      "manifest.json",
      "node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1.xz",
      "node_modules/webgpu/dist/linux-x64/dawn.node.xz",
    ]) {
      expect(existsSync(path.join(built, f)), f).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(path.join(built, "manifest.json"), "utf8")) as {
      node: string;
      totalBytes: number;
      files: { path: string; bytes: number }[];
      vulkanDebsProblem: string | null;
    };
    expect(manifest.node).toBe(process.version);
    expect(manifest.files.reduce((s, f) => s + f.bytes, 0)).toBe(manifest.totalBytes);
    // The Vulkan loader for the GPU machine, unless apt could not fetch it (the manifest then says why).
    const debs = existsSync(path.join(built, "debs")) ? readdirSync(path.join(built, "debs")) : [];
    if (!debs.some((f) => f.startsWith("libvulkan1_"))) expect(manifest.vulkanDebsProblem).toMatch(/apt-get/);
  });

  it("runs the tiny model with its own Node and ONNX Runtime and reports the figures", async () => {
    const packed = bytesUnder(pack);
    const { report } = await runBundle(["--smoke", "--work", path.join(work, "models")]);
    // Unpacked beside the bundle, which stays as packed (a device call carries it).
    const unpacked = `${pack}.unpacked`;
    expect(existsSync(path.join(unpacked, "node"))).toBe(true);
    expect(existsSync(path.join(unpacked, "node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"))).toBe(true);
    expect(existsSync(path.join(unpacked, "node_modules/webgpu/dist/linux-x64/dawn.node"))).toBe(true);
    expect(bytesUnder(pack)).toBe(packed);
    expect(report.error).toBeUndefined();
    expect(report.workload).toBe("smoke");
    expect(report.provider.requested).toEqual(["webgpu", "cpu"]);
    expect(["webgpu", "cpu"]).toContain(report.provider.sessions[0]);
    expect(report.node).toBe(process.version);
    expect(report.dit).toMatchObject({ steps: 2, batch: 2, finite: true });
    expect(report.dit!.stepSeconds).toHaveLength(2);
    expect(report.dit!.secondsPerStep).toBeGreaterThan(0);
    // 3 latent frames decode to 1 + 4·2 = 9 video frames at 8× the latent's size.
    expect(report.decode!.frames).toBe(9);
    expect(report.video).toEqual({ frames: 9, height: report.latent[2] * 8, width: report.latent[3] * 8 });
    expect(report.decode!.seconds).toBeGreaterThan(0);
    // On WebGPU the adapter is named and the inputs and outputs of every call cross; the CPU moves nothing.
    const traffic = report.hostDeviceBytes!;
    // Each step runs the DiT's three stage graphs (embedding, blocks, head); the CPU counts nothing.
    expect(traffic.steps.calls).toBe(report.provider.sessions[0] === "cpu" ? 0 : 2 * 3);
    if (report.provider.sessions[0] === "webgpu") {
      expect(report.adapter!.backend).toBe("vulkan");
      expect(traffic.steps.hostToDevice).toBeGreaterThan(0);
      expect(traffic.steps.deviceToHost).toBeGreaterThan(0);
      expect(traffic.perStep).toBe((traffic.steps.hostToDevice + traffic.steps.deviceToHost) / 2);
    } else {
      expect(report.adapter).toBeNull();
      expect(traffic.perStep).toBe(0);
    }
    expect(report.gpuMemory).toBeDefined();
  }, 600_000);

  it("takes the step count and provider from its flags, and names a bad flag", async () => {
    const { report } = await runBundle(["--smoke", "--provider", "cpu", "--steps", "3", "--work", path.join(work, "models")]);
    expect(report.error).toBeUndefined();
    expect(report.provider).toMatchObject({ requested: ["cpu"], sessions: ["cpu"] });
    expect(report.hostDeviceBytes!.perStep).toBe(0);
    expect(report.dit!.stepSeconds).toHaveLength(3);
    await expect(runBundle(["--smoke", "--provider", "metal"])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--provider: "metal"/) });
  }, 300_000);
});
