/**
 * The `int8-compute` precision: the tiny DiT converted from the same checkpoint as fp32, int8 and int8-compute.
 * Every quantized matmul of the int8-compute graph asks ONNX Runtime for int8 compute (MatMulNBits
 * accuracy_level 4) and the plain int8 graph does not; both stay close to fp32 on the same input, and the
 * int8-compute output differs from int8's (the activations are rounded too), so the attribute really changes
 * the computation.
 */
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiTRunner, type DiTCall } from "../../lib/engine/dit.ts";
import { gaussianNoise } from "../../lib/engine/noise.ts";
import { resolveRuntime } from "../../lib/engine/runtime.ts";
import { TINY_DIT, writeTinyDiffusersPipeline } from "../../lib/model-library/tiny.ts";
import { convertModel } from "../../models/convert/convert.ts";
import { readManifest } from "../../models/manifest.ts";
import type { Precision } from "../../models/nn.ts";
import { tempDir } from "../helpers/fixtures.ts";

const work = tempDir("int8-compute");
const outputs = new Map<Precision, Float32Array>();
const graphs = new Map<Precision, onnxProto.onnx.ModelProto>();

beforeAll(async () => {
  const source = path.join(work, "source");
  await writeTinyDiffusersPipeline(source, 3);
  const runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: 0 });
  const call: DiTCall = {
    latents: [gaussianNoise(1, 16 * 2 * 8 * 8)],
    shape: { channels: 16, frames: 2, height: 8, width: 8 },
    timestep: 700,
    contexts: [{ data: gaussianNoise(2, 5 * TINY_DIT.textDim), rows: 5 }],
  };
  for (const precision of ["fp32", "int8", "int8-compute"] as const) {
    const dir = path.join(work, precision);
    await convertModel({ source: path.join(source, "transformer"), outDir: dir, precision, textLen: TINY_DIT.textLen });
    const manifest = await readManifest(dir);
    const file = path.join(dir, manifest.components.transformer!.file);
    graphs.set(precision, onnxProto.onnx.ModelProto.decode(readFileSync(file)));
    const dit = await DiTRunner.load(dir, manifest, runtime);
    outputs.set(precision, (await dit.predict(call))[0]);
  }
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** accuracy_level of every MatMulNBits node (0 when the attribute is absent, ONNX Runtime's default). */
function accuracyLevels(model: onnxProto.onnx.ModelProto): number[] {
  const nodes = (model.graph?.node ?? []).filter((n) => n.opType === "MatMulNBits");
  return nodes.map((n) => Number((n.attribute ?? []).find((a) => a.name === "accuracy_level")?.i ?? 0));
}

function relativeL2(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

describe("int8-compute", () => {
  it("asks for int8 compute (accuracy_level 4) on every quantized matmul; plain int8 does not", () => {
    const compute = accuracyLevels(graphs.get("int8-compute")!);
    expect(compute.length).toBeGreaterThan(10);
    expect(new Set(compute)).toEqual(new Set([4]));
    expect(new Set(accuracyLevels(graphs.get("int8")!))).toEqual(new Set([0]));
    expect(accuracyLevels(graphs.get("fp32")!)).toEqual([]);
  });

  it("stays within a few percent of fp32, and rounds differently from weight-only int8", () => {
    const fp32 = outputs.get("fp32")!;
    const int8 = outputs.get("int8")!;
    const compute = outputs.get("int8-compute")!;
    expect(relativeL2(int8, fp32)).toBeLessThan(0.03);
    expect(relativeL2(compute, fp32)).toBeLessThan(0.05);
    expect(relativeL2(compute, int8)).toBeGreaterThan(0);
  });
});
