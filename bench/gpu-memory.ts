/**
 * Peak GPU memory of a benchmark, sampled with nvidia-smi in the background: ONNX Runtime's Node binding
 * reports no device allocations, and the WebGPU provider allocates through Dawn, so the driver's view of the
 * card (memory.used, every process on it) is the one figure that covers both. Absent nvidia-smi, the
 * sampler says so instead of reporting a number.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";

export type GpuMemoryReport =
  | {
      tool: "nvidia-smi";
      gpu: string;
      baselineMiB: number;
      peakMiB: number;
      peakAboveBaselineMiB: number;
      /** The peak within each phase the benchmark named (phase()), e.g. the DiT's and the decoder's apart. */
      peakMiBByPhase: Record<string, number>;
      samples: number;
      intervalMs: number;
    }
  | { tool: null; reason: string };

export class GpuMemorySampler {
  private peak = -Infinity;
  private baseline: number | undefined;
  private samples = 0;
  private buffered = "";
  private current = "start";
  private readonly phasePeaks: Record<string, number> = {};

  private constructor(
    private readonly child: ChildProcess | undefined,
    private readonly gpu: string,
    private readonly intervalMs: number,
    private readonly unavailable: string | undefined,
  ) {
    child?.stdout?.on("data", (d: Buffer) => this.take(d.toString()));
  }

  /** Starts sampling GPU 0 every `intervalMs`; the first sample is the baseline (memory in use before the benchmark). */
  static start(intervalMs = 100): GpuMemorySampler {
    const probe = spawnSync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader", "--id=0"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) {
      const why = probe.error ? (probe.error as NodeJS.ErrnoException).code ?? probe.error.message : `exit ${probe.status}: ${probe.stderr.trim()}`;
      return new GpuMemorySampler(undefined, "", intervalMs, `nvidia-smi unavailable (${why})`);
    }
    const child = spawn("nvidia-smi", ["--query-gpu=memory.used", "--format=csv,noheader,nounits", "--id=0", `--loop-ms=${intervalMs}`], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    return new GpuMemorySampler(child, probe.stdout.trim(), intervalMs, undefined);
  }

  private take(text: string): void {
    this.buffered += text;
    const lines = this.buffered.split("\n");
    this.buffered = lines.pop() ?? "";
    for (const line of lines) {
      const mib = Number(line.trim());
      if (!line.trim() || !Number.isFinite(mib)) continue;
      this.baseline ??= mib;
      this.peak = Math.max(this.peak, mib);
      this.phasePeaks[this.current] = Math.max(this.phasePeaks[this.current] ?? -Infinity, mib);
      this.samples++;
    }
  }

  /** Samples from now on count towards `name`'s peak. */
  phase(name: string): void {
    this.current = name;
  }

  /** Stops the sampler and reports the peak (waits for one more sample so the end of the run is covered). */
  async stop(): Promise<GpuMemoryReport> {
    if (!this.child) return { tool: null, reason: this.unavailable! };
    const before = this.samples;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve();
      };
      const deadline = setTimeout(done, 5 * this.intervalMs + 1000);
      const poll = setInterval(() => this.samples > before && done(), this.intervalMs / 2);
    });
    this.child.kill();
    if (this.baseline === undefined) return { tool: null, reason: "nvidia-smi printed no memory samples" };
    return {
      tool: "nvidia-smi",
      gpu: this.gpu,
      baselineMiB: this.baseline,
      peakMiB: this.peak,
      peakAboveBaselineMiB: this.peak - this.baseline,
      peakMiBByPhase: this.phasePeaks,
      samples: this.samples,
      intervalMs: this.intervalMs,
    };
  }
}
