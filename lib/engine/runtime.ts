/**
 * The one place that talks to ONNX Runtime about devices: which execution providers work on this machine,
 * the session options each graph is created with, and `openSession`, through which every graph is opened.
 *
 * On WebGPU it also
 *   - runs each graph with exact attention (models/graph/chunked-attention.ts): the provider's fused
 *     MultiHeadAttention is inexact at Wan's head sizes, so a `<graph>.webgpu.onnx` twin with query-chunked
 *     attention is written beside the graph the first time it is opened (same weights file);
 *   - keeps the outputs a caller names on the device (`deviceOutputs`): they come back as GPU-buffer
 *     tensors that feed the next call without a round trip (the VAE caches), and `toDevice` puts a host
 *     tensor there once (text contexts, RoPE tables);
 *   - counts the bytes that cross between host and device (`deviceTraffic`), for the benchmark.
 */
import { existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";
import { GraphBuilder, IR_VERSION, OPSET } from "../../models/graph/builder.ts";
import { chunkAttention } from "../../models/graph/chunked-attention.ts";
import { serializeInline } from "../../models/graph/save.ts";
import { adapterSummary, describeWebGpuAdapter, type GpuAdapterInfo } from "./gpu-adapter.ts";
import { EXECUTION_PROVIDERS, type ExecutionProvider } from "./providers.ts";

export { EXECUTION_PROVIDERS, type ExecutionProvider };

export type RuntimeOptions = {
  /** Providers in order of preference; "auto" tries CUDA, then WebGPU, then CPU. */
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
  /** The WebGPU adapter, when the sessions run on WebGPU. */
  adapter?: GpuAdapterInfo;
};

/** The provider the sessions actually run on (CPU fallback nodes aside). */
export function primaryProvider(runtime: ResolvedRuntime): ExecutionProvider {
  return runtime.providers[0];
}

/** "webgpu (NVIDIA GeForce RTX 4090 (nvidia, vulkan, shader-f16))", "cpu". */
export function describeRuntime(runtime: ResolvedRuntime): string {
  const p = primaryProvider(runtime);
  return runtime.adapter && p === "webgpu" ? `${p} (${adapterSummary(runtime.adapter)})` : p;
}

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

/** Tries each requested provider on a tiny graph and keeps the first that loads and computes right. */
export async function resolveRuntime(opts: RuntimeOptions): Promise<ResolvedRuntime> {
  const auto = opts.executionProviders === "auto";
  const wanted: readonly ExecutionProvider[] = auto ? EXECUTION_PROVIDERS : (opts.executionProviders as ExecutionProvider[]);
  const rejected: ResolvedRuntime["rejected"] = [];
  const bytes = await probe();
  for (const provider of wanted) {
    let adapter: GpuAdapterInfo | undefined;
    if (provider === "cuda") {
      const missing = missingCudaProvider();
      if (missing) {
        rejected.push({ provider, reason: missing });
        continue;
      }
    }
    if (provider === "webgpu") {
      // Dawn's Vulkan backend needs a runtime directory; headless services often have none.
      process.env.XDG_RUNTIME_DIR ??= os.tmpdir();
      adapter = await describeWebGpuAdapter();
      if (!adapter) {
        rejected.push({ provider, reason: NO_ADAPTER });
        continue;
      }
      if (auto && adapter.software) {
        // lavapipe computes on the same cores as the CPU provider, through shaders: exact, but slower.
        rejected.push({ provider, reason: `the only adapter is a software renderer (${adapterSummary(adapter)}); the CPU provider is faster` });
        continue;
      }
    }
    try {
      const session = await ort.InferenceSession.create(bytes, { executionProviders: [provider], logSeverityLevel: 3 });
      const out = await session.run({ x: new ort.Tensor("float32", new Float32Array([0, 1, 2, 3]), [1, 4]) });
      await session.release();
      if ((out.y.data as Float32Array)[3] !== 7) throw new Error("probe graph computed a wrong value");
      const providers: ExecutionProvider[] = provider === "cpu" ? ["cpu"] : [provider, "cpu"];
      return { providers, rejected, threads: opts.threads, ...(adapter ? { adapter } : {}) };
    } catch (e) {
      rejected.push({ provider, reason: firstLine((e as Error).message) });
    }
  }
  throw new Error(
    `No execution provider could run a graph: ${rejected.map((r) => `${r.provider}: ${r.reason}`).join("; ")}`,
  );
}

const NO_ADAPTER =
  "no WebGPU adapter: no Vulkan driver answered (NVIDIA: the proprietary driver's Vulkan ICD; AMD/Intel: mesa-vulkan-drivers; " +
  "software, for tests: mesa-vulkan-drivers from bookworm-backports)";

/**
 * The start-up log's lines: what runs, and why the providers before it were passed over. Under "auto" a
 * provider that is simply not there is not a failure: it is said as a note, and CUDA's install hint is left
 * out on a machine with no NVIDIA driver, where there is no GPU to miss.
 */
export function runtimeReport(runtime: ResolvedRuntime, auto: boolean): string[] {
  const nvidia = existsSync("/proc/driver/nvidia/version");
  const lines: string[] = [];
  for (const r of runtime.rejected) {
    if (auto && r.provider === "cuda" && !nvidia) continue;
    lines.push(auto ? `execution provider ${r.provider} not available: ${r.reason}` : `execution provider ${r.provider} failed: ${r.reason}`);
  }
  const cpuOnly = primaryProvider(runtime) === "cpu";
  lines.push(`execution provider: ${describeRuntime(runtime)}${auto && cpuOnly && !nvidia && !runtime.adapter ? " (no GPU on this machine)" : ""}`);
  if (runtime.adapter && primaryProvider(runtime) === "webgpu") {
    const l = runtime.adapter.limits;
    lines.push(
      `webgpu adapter limits: max buffer ${formatBytes(l.maxBufferSize)}, max storage binding ${formatBytes(l.maxStorageBufferBindingSize)}`,
    );
  }
  return lines;
}

function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${Math.round(n / 2 ** 20)} MiB`;
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

export type OpenOptions = {
  /** Adjustments to the generic options (e.g. the VAE's memory settings). */
  tune?: Partial<ort.InferenceSession.SessionOptions>;
  /** Outputs that stay on the device between calls (WebGPU; elsewhere they come back to the host). */
  deviceOutputs?: (name: string) => boolean;
};

/**
 * Opens a graph (a file, or the bytes of a graph whose weights are inline) on the runtime's providers: the
 * one way every graph of the engine is loaded.
 */
export async function openSession(
  file: string | Uint8Array,
  runtime: ResolvedRuntime,
  o: OpenOptions = {},
): Promise<ort.InferenceSession> {
  const options = { ...sessionOptions(runtime), ...o.tune };
  const provider = primaryProvider(runtime);
  if (provider !== "webgpu") {
    const session = typeof file === "string" ? await ort.InferenceSession.create(file, options) : await ort.InferenceSession.create(file, options);
    return counted(session, provider);
  }
  const { graph, outputs } = typeof file === "string" ? await webGpuGraph(file) : inlineWebGpuGraph(file);
  if (o.deviceOutputs) {
    options.preferredOutputLocation = Object.fromEntries(
      outputs.map((name) => [name, o.deviceOutputs!(name) ? "gpu-buffer" : "cpu"] as const),
    );
  }
  const session = typeof graph === "string" ? await ort.InferenceSession.create(graph, options) : await ort.InferenceSession.create(graph, options);
  return counted(session, provider);
}

function inlineWebGpuGraph(bytes: Uint8Array): { graph: Uint8Array; outputs: string[] } {
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const outputs = (model.graph?.output ?? []).map((o) => o.name!);
  return { graph: chunkAttention(model) ? onnxProto.onnx.ModelProto.encode(model).finish() : bytes, outputs };
}

/** The suffix of a graph's WebGPU twin: `transformer.onnx` → `transformer.webgpu.onnx`. */
export const WEBGPU_GRAPH_SUFFIX = ".webgpu.onnx";

/**
 * The graph to open on WebGPU: the twin with chunked attention when the graph has fused attention (written
 * beside it on first use, rewritten when the graph is newer), else the graph itself; and its output names.
 */
async function webGpuGraph(file: string): Promise<{ graph: string; outputs: string[] }> {
  const twin = file.replace(/\.onnx$/, "") + WEBGPU_GRAPH_SUFFIX;
  const source = await stat(file);
  const current = await stat(twin).catch(() => undefined);
  const model = onnxProto.onnx.ModelProto.decode(await readFile(current && current.mtimeMs >= source.mtimeMs ? twin : file));
  const outputs = (model.graph?.output ?? []).map((o) => o.name!);
  if (current && current.mtimeMs >= source.mtimeMs) return { graph: twin, outputs };
  if (chunkAttention(model) === 0) return { graph: file, outputs };
  try {
    await writeFile(twin, onnxProto.onnx.ModelProto.encode(model).finish());
  } catch (e) {
    throw new Error(
      `cannot write ${path.basename(twin)} beside ${path.basename(file)} (the WebGPU graph with exact attention): ${(e as Error).message}`,
    );
  }
  return { graph: twin, outputs };
}

/** Bytes that crossed between host and device since the process started (or the last reset). */
export const deviceTraffic = { hostToDevice: 0, deviceToHost: 0, calls: 0 };

export function resetDeviceTraffic(): void {
  deviceTraffic.hostToDevice = deviceTraffic.deviceToHost = deviceTraffic.calls = 0;
}

/**
 * Counts a device session's transfers: host tensors fed in go to the device, host-located outputs come back
 * (CUDA in the Node binding always returns every output to the host). CPU sessions move nothing.
 */
function counted(session: ort.InferenceSession, provider: ExecutionProvider): ort.InferenceSession {
  if (provider === "cpu") return session;
  const run = session.run.bind(session) as (...args: unknown[]) => Promise<ort.InferenceSession.OnnxValueMapType>;
  const hostBytes = (values: Iterable<unknown>) => {
    let n = 0;
    for (const v of values) {
      const t = v as ort.Tensor | null;
      if (t && t.location === "cpu") n += (t.data as ArrayBufferView).byteLength;
    }
    return n;
  };
  session.run = (async (feeds: Record<string, ort.Tensor>, ...rest: unknown[]) => {
    deviceTraffic.hostToDevice += hostBytes(Object.values(feeds));
    const out = await run(feeds, ...rest);
    deviceTraffic.deviceToHost += hostBytes(Object.values(out));
    deviceTraffic.calls++;
    return out;
  }) as typeof session.run;
  return session;
}

/** Identity graphs that copy a host tensor onto the device, one per element type. */
const uploaders = new Map<string, Promise<ort.InferenceSession>>();

/**
 * `tensor` on the runtime's device: on WebGPU a GPU-buffer copy (made once, fed to every later call without
 * crossing again); elsewhere the tensor itself. The caller disposes what it uploads.
 */
export async function toDevice(tensor: ort.Tensor, runtime: ResolvedRuntime): Promise<ort.Tensor> {
  if (primaryProvider(runtime) !== "webgpu" || tensor.location !== "cpu") return tensor;
  let uploader = uploaders.get(tensor.type);
  if (!uploader) {
    const graph = identityGraph(tensor.type as "float32" | "float16" | "int64");
    uploader = ort.InferenceSession.create(graph, { ...sessionOptions(runtime), preferredOutputLocation: "gpu-buffer" }).then((s) =>
      counted(s, "webgpu"),
    );
    uploaders.set(tensor.type, uploader);
  }
  return (await (await uploader).run({ x: tensor })).y as ort.Tensor;
}

/** Identity graphs that copy a device tensor back to the host, one per element type. */
const downloaders = new Map<string, Promise<ort.InferenceSession>>();

/**
 * `tensor` on the host: a device (GPU-buffer) tensor is copied back — the Node binding cannot download one
 * itself — and counted; a host tensor is returned as it is.
 */
export async function toHost(tensor: ort.Tensor, runtime: ResolvedRuntime): Promise<ort.Tensor> {
  if (tensor.location === "cpu") return tensor;
  let downloader = downloaders.get(tensor.type);
  if (!downloader) {
    const graph = identityGraph(tensor.type as "float32" | "float16" | "int64");
    downloader = ort.InferenceSession.create(graph, { ...sessionOptions(runtime), preferredOutputLocation: "cpu" }).then((s) =>
      counted(s, primaryProvider(runtime)),
    );
    downloaders.set(tensor.type, downloader);
  }
  return (await (await downloader).run({ x: tensor })).y as ort.Tensor;
}

/** y = x for a tensor of any shape (no shape in the value infos: rank and sizes are free). */
function identityGraph(dtype: "float32" | "float16" | "int64"): Uint8Array {
  const { onnx } = onnxProto;
  const elemType = { float32: onnx.TensorProto.DataType.FLOAT, float16: onnx.TensorProto.DataType.FLOAT16, int64: onnx.TensorProto.DataType.INT64 }[dtype];
  const value = (name: string) => ({ name, type: { tensorType: { elemType } } });
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET.onnx }],
    graph: { name: `upload_${dtype}`, input: [value("x")], output: [value("y")], node: [{ opType: "Identity", input: ["x"], output: ["y"] }] },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** onnxruntime-node ships without its CUDA provider; `npm run gpu:install` fetches it. */
function missingCudaProvider(): string | undefined {
  const require = createRequire(import.meta.url);
  const binDir = path.join(
    path.dirname(require.resolve("onnxruntime-node/package.json")),
    "bin", "napi-v6", process.platform, process.arch,
  );
  const lib = path.join(binDir, process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so");
  return existsSync(lib) ? undefined : "the CUDA provider library is not installed (npm run gpu:install fetches it)";
}

function firstLine(s: string): string {
  return s.split("\n")[0].slice(0, 300);
}
