/**
 * The one place that talks to ONNX Runtime about devices: which execution providers work on this
 * machine, and the session options each graph is created with.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../models/graph/builder.ts";
import { serializeInline } from "../../models/graph/save.ts";

export type ExecutionProvider = "cuda" | "cpu";

export type RuntimeOptions = {
  /** Providers in order of preference; "auto" tries CUDA, then CPU. */
  executionProviders: "auto" | ExecutionProvider[];
  /** Intra-op threads on CPU (0 = ONNX Runtime's default: one per core). */
  threads: number;
};

export type ResolvedRuntime = {
  /** The providers sessions are created with (the first one that loaded, then CPU as fallback). */
  providers: ExecutionProvider[];
  /** Why a requested provider was not used, for the start-up log. */
  rejected: { provider: ExecutionProvider; reason: string }[];
  threads: number;
};

let probeModel: Promise<Uint8Array> | undefined;

function probe(): Promise<Uint8Array> {
  probeModel ??= (async () => {
    const g = new GraphBuilder("probe");
    const x = g.input("x", "float32", [1, 4]);
    g.output(x.mul(2).add(1), "y", [1, 4]);
    return serializeInline(g);
  })();
  return probeModel;
}

/** Tries each requested provider on a tiny graph and keeps those that load and run. */
export async function resolveRuntime(opts: RuntimeOptions): Promise<ResolvedRuntime> {
  const wanted: ExecutionProvider[] = opts.executionProviders === "auto" ? ["cuda", "cpu"] : opts.executionProviders;
  const rejected: ResolvedRuntime["rejected"] = [];
  const bytes = await probe();
  for (const provider of wanted) {
    const missing = provider === "cuda" ? missingCudaProvider() : undefined;
    if (missing) {
      rejected.push({ provider, reason: missing });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(bytes, { executionProviders: [provider] });
      const out = await session.run({ x: new ort.Tensor("float32", new Float32Array([0, 1, 2, 3]), [1, 4]) });
      await session.release();
      if ((out.y.data as Float32Array)[3] !== 7) throw new Error("probe graph computed a wrong value");
      const providers: ExecutionProvider[] = provider === "cpu" ? ["cpu"] : [provider, "cpu"];
      return { providers, rejected, threads: opts.threads };
    } catch (e) {
      rejected.push({ provider, reason: firstLine((e as Error).message) });
    }
  }
  throw new Error(
    `No execution provider could run a graph: ${rejected.map((r) => `${r.provider}: ${r.reason}`).join("; ")}`,
  );
}

export function sessionOptions(runtime: ResolvedRuntime): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: runtime.providers,
    graphOptimizationLevel: "all",
    interOpNumThreads: 1,
    executionMode: "sequential",
    logSeverityLevel: 3,
  };
  if (runtime.threads > 0) options.intraOpNumThreads = runtime.threads;
  return options;
}

/** onnxruntime-node ships without its CUDA provider; `npm run gpu:install` fetches it. */
function missingCudaProvider(): string | undefined {
  const require = createRequire(import.meta.url);
  const binDir = path.join(
    path.dirname(require.resolve("onnxruntime-node/package.json")),
    "bin", "napi-v6", process.platform, process.arch,
  );
  const lib = path.join(binDir, process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so");
  return existsSync(lib) ? undefined : "the CUDA provider library is not installed (run: npm run gpu:install)";
}

function firstLine(s: string): string {
  return s.split("\n")[0].slice(0, 300);
}
