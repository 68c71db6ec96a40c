/**
 * Routing by capability, its rules on their own: a job's class from the 8 GB table's estimate, the class
 * queue's name, which worker can run a class, why none can, and when a worker leaves a job to a peer
 * that has the model loaded. Real estimates (the DiT graph built against recorded weights), no Redis.
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import { describe, expect, it } from "vitest";
import type { Manifest } from "../../models/manifest.ts";
import { WAN21_T2V_1_3B } from "../../models/wan/dit.ts";
import { detectDeviceMemory } from "../../lib/engine/device-memory.ts";
import { gpuMemoryBudget } from "../../lib/engine/memory-budget.ts";
import { estimatedPeakBytes, jobClassOf } from "../../lib/jobs/job-class.ts";
import { canRun, classQueueName, defersTo, memoryTier, parseClassQueueName, whyNoWorker, type JobClass, type PeerState } from "../../lib/queue/routing.ts";

const GIB = 2 ** 30;
/** The parts of a 1.3B manifest the estimate reads. */
const wan13b = { name: "wan2.1-t2v-1.3b", manifest: { components: { transformer: { precision: "fp16", config: WAN21_T2V_1_3B } } } as unknown as Manifest };

describe("job classes", () => {
  it("puts the 8 GB table's peak into the smallest tier that holds it", () => {
    const full = { width: 832, height: 480, frames: 81, guidance: 6 };
    const peak = estimatedPeakBytes(wan13b.manifest, full);
    // The same figure the README's table prints (batch 2: guidance batches both passes).
    expect(peak).toBe(gpuMemoryBudget({ width: 832, height: 480, frames: 81, precision: "fp16", batch: 2 }).peakBytes);
    expect(peak / GIB).toBeGreaterThan(6);
    expect(jobClassOf(wan13b, "t2v", full)).toEqual({ model: "wan2.1-t2v-1.3b", kind: "t2v", memoryGiB: 8 });
    // At 832×480 the decoder's full-resolution frame sets the peak, whatever the frames; a smaller
    // size is a smaller class.
    expect(estimatedPeakBytes(wan13b.manifest, { ...full, frames: 17 })).toBeLessThanOrEqual(peak);
    expect(jobClassOf(wan13b, "t2v", { ...full, width: 416, height: 240 }).memoryGiB).toBeLessThan(8);
  });

  it("tiers: exact edges stay, anything above goes up, beyond the table whole GiB", () => {
    expect(memoryTier(0.2 * GIB)).toBe(1);
    expect(memoryTier(1 * GIB)).toBe(1);
    expect(memoryTier(1.01 * GIB)).toBe(2);
    expect(memoryTier(7.18 * GIB)).toBe(8);
    expect(memoryTier(300.5 * GIB)).toBe(301);
  });

  it("names one queue per class and reads the class back from it (model names may hold dots)", () => {
    const c: JobClass = { model: "wan2.1-t2v-1.3b", kind: "i2v", memoryGiB: 12 };
    expect(classQueueName(c)).toBe("generate.wan2.1-t2v-1.3b.i2v.12g");
    expect(parseClassQueueName(classQueueName(c))).toEqual(c);
    expect(parseClassQueueName("generate")).toBeUndefined();
    expect(parseClassQueueName("generate.m.x2v.8g")).toBeUndefined();
  });
});

describe("who can run a class", () => {
  const c: JobClass = { model: "m", kind: "i2v", memoryGiB: 8 };
  const big = { models: ["m"], kinds: ["t2v", "i2v", "v2v"] as const, memoryGiB: 24 };

  it("needs the model, the kind and the memory; unknown memory sets no limit", () => {
    expect(canRun({ ...big, kinds: [...big.kinds] }, c)).toBe(true);
    expect(canRun({ ...big, kinds: [...big.kinds], models: ["other"] }, c)).toBe(false);
    expect(canRun({ ...big, kinds: ["t2v"] }, c)).toBe(false);
    expect(canRun({ ...big, kinds: [...big.kinds], memoryGiB: 6 }, c)).toBe(false);
    expect(canRun({ ...big, kinds: [...big.kinds], memoryGiB: 8 }, c)).toBe(true);
    expect(canRun({ ...big, kinds: [...big.kinds], memoryGiB: null }, c)).toBe(true);
  });

  it("says why nobody can, naming the first requirement no worker meets", () => {
    const all = [...big.kinds];
    expect(whyNoWorker(c, [])).toBe("no worker is running; the job waits until one starts");
    expect(whyNoWorker(c, [{ ...big, kinds: all, models: ["x"] }])).toBe("no worker has model m");
    expect(whyNoWorker(c, [{ ...big, kinds: ["t2v"] }])).toBe("no worker with model m takes i2v jobs");
    expect(whyNoWorker(c, [{ ...big, kinds: all, memoryGiB: 4 }, { ...big, kinds: all, memoryGiB: 6 }])).toBe(
      "needs up to 8 GiB; the largest worker with model m advertises 6 GiB",
    );
    expect(whyNoWorker(c, [{ ...big, kinds: all, memoryGiB: 4 }, { ...big, kinds: all }])).toBeNull();
  });
});

describe("prefer the worker that has the model loaded", () => {
  const c: JobClass = { model: "m", kind: "t2v", memoryGiB: 8 };
  const peer = (over: Partial<PeerState> = {}): PeerState => ({ id: "peer", model: "m", running: 0, concurrency: 1, state: "ready", ...over });
  const self = { id: "self", model: "other" };

  it("leaves the job to an idle peer with the model loaded, within the grace", () => {
    expect(defersTo(self, c, [peer()], 1_000, 15_000)).toBe("peer");
    expect(defersTo({ id: "self", model: null }, c, [peer()], null, 15_000)).toBe("peer");
  });

  it("takes it when it has the model itself, the grace is over, or no such peer is free and ready", () => {
    expect(defersTo({ id: "self", model: "m" }, c, [peer()], 0, 15_000)).toBeUndefined();
    expect(defersTo(self, c, [peer()], 15_000, 15_000)).toBeUndefined();
    expect(defersTo(self, c, [peer({ running: 1 })], 0, 15_000)).toBeUndefined();
    expect(defersTo(self, c, [peer({ state: "draining" })], 0, 15_000)).toBeUndefined();
    expect(defersTo(self, c, [peer({ model: "other" })], 0, 15_000)).toBeUndefined();
    expect(defersTo(self, c, [peer({ id: "self" })], 0, 15_000)).toBeUndefined();
  });
});

describe("the memory a worker advertises", () => {
  it("WORKER_MEMORY_GB over everything; RAM on the CPU; the driver's figure or unknown on a GPU", () => {
    expect(detectDeviceMemory("webgpu", 6)).toEqual({ totalBytes: 6 * GIB, freeBytes: null, source: "override" });
    expect(detectDeviceMemory("cpu")).toMatchObject({ totalBytes: os.totalmem(), source: "system-ram" });
    let nvidia = false;
    try {
      execFileSync("nvidia-smi", ["-L"], { stdio: "ignore" });
      nvidia = true;
    } catch {
      // no NVIDIA driver here
    }
    const gpu = detectDeviceMemory("webgpu");
    if (nvidia) expect(gpu).toMatchObject({ source: "nvidia-smi", totalBytes: expect.any(Number) });
    else expect(gpu).toEqual({ totalBytes: null, freeBytes: null, source: "unknown" });
  });
});
