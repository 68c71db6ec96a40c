/**
 * models/graph/direct-outputs.ts: graph outputs written by the nodes that compute them (no Identity copies),
 * with the same results, and the VAE's per-frame graphs built that way.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../models/graph/builder.ts";
import { writeOutputsDirectly } from "../../models/graph/direct-outputs.ts";
import { saveGraph } from "../../models/graph/save.ts";
import { Params } from "../../models/nn.ts";
import { buildVaeDecoderFrame, buildVaeEncoderFrame } from "../../models/wan/vae.ts";
import { WAN21_VAE_CONFIG } from "../../models/wan/vae-layout.ts";
import { RecordingWeights } from "../../models/weights/recording.ts";

const work = mkdtempSync(path.join(os.tmpdir(), "direct-outputs-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function graph(): GraphBuilder {
  const g = new GraphBuilder("direct");
  const x = g.input("x", "float32", [2, 3]);
  const y = x.add(1);
  const z = y.mul(2);
  g.output(y, "out_y", [2, 3]);
  g.output(z, "out_z", [2, 3]);
  g.output(x, "out_x", [2, 3]); // a graph input: keeps its Identity
  g.output(y, "out_y2", [2, 3]); // a second name for one value: keeps its Identity
  return g;
}

async function run(g: GraphBuilder, file: string) {
  await saveGraph(g, { dir: work, file });
  const s = await ort.InferenceSession.create(path.join(work, file));
  const out = await s.run({ x: new ort.Tensor("float32", Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]) });
  await s.release();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, [...(t.data as Float32Array)]]));
}

describe("writeOutputsDirectly", () => {
  it("renames computed values to their output names, keeps the other Identities, and computes the same", async () => {
    const before = await run(graph(), "before.onnx");
    const g = graph();
    expect(writeOutputsDirectly(g)).toBe(2);
    const producers = new Map(g.nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n.opType] as const)));
    expect(producers.get("out_y")).toBe("Add");
    expect(producers.get("out_z")).toBe("Mul");
    expect(producers.get("out_x")).toBe("Identity");
    expect(producers.get("out_y2")).toBe("Identity");
    expect(g.nodes.find((n) => n.output?.[0] === "out_y2")?.input).toEqual(["out_y"]);
    expect(g.nodes.find((n) => n.output?.[0] === "out_z")?.input?.[0]).toBe("out_y");
    expect(await run(g, "after.onnx")).toEqual(before);
    expect(before.out_z).toEqual([4, 6, 8, 10, 12, 14]);
  });

  it("leaves no Identity behind the per-frame VAE graphs' cache outputs (else each stays allocated to the end of a run)", () => {
    for (const build of [buildVaeDecoderFrame, buildVaeEncoderFrame]) {
      const g = new GraphBuilder("vae");
      build(g, new Params(g, new RecordingWeights("vae"), "", "fp32"), { ...WAN21_VAE_CONFIG, baseDim: 8 });
      const caches = g.outputs.filter((o) => o.name.startsWith("cache_out."));
      expect(caches.length).toBeGreaterThan(0);
      const producers = new Map(g.nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n.opType] as const)));
      for (const c of caches) expect(producers.get(c.name)).not.toBe("Identity");
    }
  });
});
