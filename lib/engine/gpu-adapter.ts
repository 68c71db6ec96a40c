/**
 * Names the WebGPU adapter ONNX Runtime's WebGPU provider runs on. ONNX Runtime's Node binding does not
 * expose it, so we ask Dawn directly (the `webgpu` package: Dawn's Node bindings, the same WebGPU
 * implementation ONNX Runtime embeds) for the default adapter — the one ONNX Runtime picks too.
 */
export type GpuAdapterInfo = {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The native API under WebGPU: Vulkan on Linux, D3D12 on Windows, Metal on macOS. */
  backend: "vulkan" | "d3d12" | "metal";
  /** A software rasteriser (Mesa's lavapipe/llvmpipe, SwiftShader): correct, but as slow as the CPU it runs on. */
  software: boolean;
  /** Whether shaders can compute in float16 (the fp16 DiT graph needs it to run in half precision). */
  shaderF16: boolean;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeWorkgroupStorageSize: number };
};

type DawnAdapter = {
  info: { vendor: string; architecture: string; device: string; description: string };
  features: { has(name: string): boolean };
  limits: Record<string, number>;
};

/** The default adapter, or undefined when there is none (no Vulkan/D3D12/Metal driver, or no `webgpu` package). */
export async function describeWebGpuAdapter(): Promise<GpuAdapterInfo | undefined> {
  let dawn: { create(flags: string[]): { requestAdapter(): Promise<DawnAdapter | null> } };
  try {
    dawn = (await import("webgpu")) as unknown as typeof dawn;
  } catch {
    return undefined;
  }
  const adapter = await dawn.create([]).requestAdapter().catch(() => null);
  if (!adapter) return undefined;
  const { vendor, architecture, device, description } = adapter.info;
  return {
    vendor,
    architecture,
    device,
    description,
    backend: process.platform === "win32" ? "d3d12" : process.platform === "darwin" ? "metal" : "vulkan",
    software: architecture === "software" || /llvmpipe|lavapipe|swiftshader/i.test(`${device} ${description}`),
    shaderF16: adapter.features.has("shader-f16"),
    limits: {
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    },
  };
}

/** One line for logs: "NVIDIA GeForce RTX 4090 (nvidia, vulkan, shader-f16)". */
export function adapterSummary(a: GpuAdapterInfo): string {
  const name = a.description || a.device || a.architecture || "unknown adapter";
  const traits = [a.vendor, a.backend, a.software ? "software" : undefined, a.shaderF16 ? "shader-f16" : undefined].filter(Boolean);
  return `${name} (${traits.join(", ")})`;
}
