/**
 * How much memory the device a worker runs its sessions on has, for routing (lib/queue/routing.ts): the
 * GPU's from the NVIDIA driver (nvidia-smi) where the sessions run on a GPU, the machine's RAM where they
 * run on the CPU, or what WORKER_MEMORY_GB says (tests, and users whose driver tells nothing: WebGPU
 * exposes no memory size, and DirectML/ROCm/Apple cards have no nvidia-smi). Unknown means no limit.
 */
import { execFileSync } from "node:child_process";
import os from "node:os";

export type DeviceMemory = {
  /** Bytes the worker advertises for routing; null when unknown (no limit is applied). */
  totalBytes: number | null;
  /** Free bytes when the worker started, where the source tells; for display only. */
  freeBytes: number | null;
  source: "override" | "nvidia-smi" | "system-ram" | "unknown";
};

const GIB = 2 ** 30;
const MIB = 2 ** 20;

/** The first visible NVIDIA GPU's total and free memory, or undefined without a working nvidia-smi. */
function nvidiaMemory(): { total: number; free: number } | undefined {
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=memory.total,memory.free", "--format=csv,noheader,nounits"], {
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    const [total, free] = out.trim().split("\n")[0].split(",").map((v) => Number(v.trim()));
    return Number.isFinite(total) && Number.isFinite(free) ? { total: total * MIB, free: free * MIB } : undefined;
  } catch {
    return undefined;
  }
}

/** `device`: the execution provider the sessions run on first ("cpu", "cuda", "webgpu", …). */
export function detectDeviceMemory(device: string, overrideGiB?: number): DeviceMemory {
  if (overrideGiB !== undefined) return { totalBytes: overrideGiB * GIB, freeBytes: null, source: "override" };
  if (device === "cpu") return { totalBytes: os.totalmem(), freeBytes: os.freemem(), source: "system-ram" };
  const nvidia = nvidiaMemory();
  if (nvidia) return { totalBytes: nvidia.total, freeBytes: nvidia.free, source: "nvidia-smi" };
  return { totalBytes: null, freeBytes: null, source: "unknown" };
}
