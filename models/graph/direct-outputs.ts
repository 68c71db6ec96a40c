/**
 * Lets the nodes that compute graph outputs write them directly. `GraphBuilder.output` names an output
 * through an `Identity` node when the value already has another name; this pass renames the value itself
 * to the output name throughout the graph and drops the Identity.
 *
 * Why it matters for memory: ONNX Runtime orders a node nothing consumes (such an Identity) after everything
 * else, so the value it copies stays allocated for the rest of the run — for the VAE's per-frame graphs that
 * was every cache slot's full-resolution frame at once (1.5 GB at 480×832) on top of the copy in the output.
 * Written directly, the value lives only in the output buffer (the caller's, when pre-allocated).
 */
import type { GraphBuilder } from "./builder.ts";

/** Applies the pass to `g` (after the graph is complete); returns how many Identity nodes were removed. */
export function writeOutputsDirectly(g: GraphBuilder): number {
  const outputs = new Set(g.outputs.map((o) => o.name));
  const inputs = new Set(g.inputs.map((i) => i.name));
  const producer = new Map<string, (typeof g.nodes)[number]>();
  for (const n of g.nodes) for (const o of n.output ?? []) producer.set(o, n);
  const renames = new Map<string, string>();
  const dropped = new Set<(typeof g.nodes)[number]>();
  for (const n of g.nodes) {
    if (n.opType !== "Identity" || n.domain) continue;
    const [from] = n.input ?? [];
    const [to] = n.output ?? [];
    const source = producer.get(from);
    // Only values a node computes (not graph inputs, initializers or constants), not already an output, once.
    if (!outputs.has(to) || outputs.has(from) || inputs.has(from) || renames.has(from)) continue;
    if (!source || source.opType === "Constant" || g.initializers.has(from)) continue;
    renames.set(from, to);
    dropped.add(n);
  }
  if (!renames.size) return 0;
  const kept = g.nodes.filter((n) => !dropped.has(n));
  for (const n of kept) {
    n.input = (n.input ?? []).map((name) => renames.get(name) ?? name);
    n.output = (n.output ?? []).map((name) => renames.get(name) ?? name);
  }
  g.nodes.splice(0, g.nodes.length, ...kept);
  return dropped.size;
}
