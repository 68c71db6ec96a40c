/**
 * Rewrites every `com.microsoft.MultiHeadAttention` node of a saved model into plain ONNX attention over
 * query chunks: softmax(q·kᵀ·scale + bias)·v computed for one slice of query rows at a time, with the logits
 * and the softmax in float32.
 *
 * Why: ONNX Runtime's WebGPU provider (1.30) computes MultiHeadAttention inexactly at the head sizes Wan
 * uses (128 in the DiT: errors of 0.06–0.45 against the CPU on random inputs), it has no kernel for the
 * standard `Attention` op, while MatMul → Softmax → MatMul on it matches the CPU to 1e-6 (docs/gpu.md,
 * tests/engine/webgpu.test.ts). Chunking the queries keeps the score matrix of all heads from ever
 * existing at once: at 480×832×81 (32,760 tokens, 12 heads, CFG batch 2) a whole one would take 103 GB in
 * float32, one of QUERY_CHUNKS chunks 0.8 GB.
 *
 * The number of chunks is fixed in the graph (ONNX has no dynamic fan-out without control flow), so the
 * query rows are zero-padded up to a multiple of it and split evenly; padded rows are dropped at the end.
 * Every weight stays where it was (the rewritten graph refers to the same external data file).
 */
import onnxProto from "onnx-proto";
import { encodeAttribute, type AttrValue } from "./attributes.ts";

const { onnx } = onnxProto;
type Model = onnxProto.onnx.IModelProto;
type Node = onnxProto.onnx.INodeProto;

/** Query chunks per attention: chunk rows = ⌈L / QUERY_CHUNKS⌉. */
export const QUERY_CHUNKS = 128;

/** Shape's `start`/`end` need opset 15, CastLike opset 15. */
const MIN_OPSET = 15;

/** Inputs per Concat (each binds a buffer; a WebGPU shader takes at most 16). */
const CONCAT_FAN_IN = 8;

/** Rewrites `model` in place; returns how many attention nodes were replaced. */
export function chunkAttention(model: Model, chunks = QUERY_CHUNKS): number {
  const graph = model.graph;
  if (!graph?.node) return 0;
  const onnxOpset = model.opsetImport?.find((o) => !o.domain);
  if (!onnxOpset || Number(onnxOpset.version) < MIN_OPSET) return 0;
  const consts = new Constants(graph);
  const nodes: Node[] = [];
  let replaced = 0;
  for (const node of graph.node) {
    if (node.opType === "MultiHeadAttention" && node.domain === "com.microsoft") {
      nodes.push(...chunkedAttention(node, chunks, consts));
      replaced++;
    } else {
      nodes.push(node);
    }
  }
  graph.node = nodes;
  return replaced;
}

/** The nodes that replace one MultiHeadAttention node (same inputs, same output name). */
function chunkedAttention(mha: Node, chunks: number, consts: Constants): Node[] {
  const [q, k, v, packedBias, keyMask, attentionBias] = mha.input ?? [];
  if (packedBias || keyMask) throw new Error(`${mha.name}: only q, k, v and attention_bias inputs can be rewritten`);
  const heads = intAttribute(mha, "num_heads");
  const scale = floatAttribute(mha, "scale");
  const out = mha.output![0];
  const nodes: Node[] = [];
  let n = 0;
  const one = (opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string => {
    const name = `${out}/chunked.${n}`;
    nodes.push({
      opType,
      name: `${out}/chunked.${n++}:node`,
      input: inputs,
      output: [name],
      attribute: Object.entries(attrs).map(([key, value]) => encodeAttribute(key, value)),
    });
    return name;
  };
  const float32 = onnx.TensorProto.DataType.FLOAT;

  // [B, L, N·d] → [B, N, L, d]; keys as [B, N, d, L] so that scores are one MatMul.
  const perHead = consts.int64(`attn_heads_${heads}`, [0, 0, heads, -1]);
  const qh = one("Transpose", [one("Reshape", [q, perHead])], { perm: [0, 2, 1, 3] });
  const kt = one("Transpose", [one("Reshape", [k, perHead])], { perm: [0, 2, 3, 1] });
  const vh = one("Transpose", [one("Reshape", [v, perHead])], { perm: [0, 2, 1, 3] });

  // scale = 1/√d unless given; d is only known at run time.
  let scaleName: string;
  if (scale !== undefined) {
    scaleName = consts.float(`attn_scale_${scale}`, scale);
  } else {
    const width = one("Shape", [q], { start: 2, end: 3 });
    const d = one("Cast", [one("Div", [width, consts.int64("attn_one_heads_" + heads, [heads])])], { to: float32 });
    scaleName = one("Reciprocal", [one("Sqrt", [d])]);
  }
  const queries = one("Mul", [one("Cast", [qh], { to: float32 }), scaleName]);
  const keys = one("Cast", [kt], { to: float32 });

  // Pad the query rows to a multiple of `chunks`; chunk c is rows [c·r, (c+1)·r) of the padded queries.
  const rows = one("Shape", [q], { start: 1, end: 2 });
  const chunkCount = consts.int64(`attn_chunks_${chunks}`, [chunks]);
  const chunkRows = one("Div", [one("Add", [rows, consts.int64(`attn_chunks_minus1_${chunks}`, [chunks - 1])]), chunkCount]);
  const padRows = one("Sub", [one("Mul", [chunkRows, chunkCount]), rows]);
  const zero = consts.int64("attn_zero", [0]);
  const axis2 = consts.int64("attn_axis2", [2]);
  const pads = one("Concat", [consts.int64("attn_pad_zeros6", [0, 0, 0, 0, 0, 0]), padRows, zero], { axis: 0 });
  const paddedQueries = one("Pad", [queries, pads]);
  const paddedBias = attentionBias ? one("Pad", [one("Cast", [attentionBias], { to: float32 }), pads]) : undefined;

  // Slices rather than one Split, and a tree of Concats: a WebGPU shader binds at most 16 buffers.
  const outs: string[] = [];
  for (let c = 0; c < chunks; c++) {
    const start = c === 0 ? zero : one("Mul", [chunkRows, consts.int64(`attn_index_${c}`, [c])]);
    const end = one("Mul", [chunkRows, consts.int64(`attn_index_${c + 1}`, [c + 1])]);
    let logits = one("MatMul", [one("Slice", [paddedQueries, start, end, axis2]), keys]);
    if (paddedBias) logits = one("Add", [logits, one("Slice", [paddedBias, start, end, axis2])]);
    const weights = one("CastLike", [one("Softmax", [logits], { axis: -1 }), vh]);
    outs.push(one("MatMul", [weights, vh]));
  }
  let level = outs;
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += CONCAT_FAN_IN) {
      const group = level.slice(i, i + CONCAT_FAN_IN);
      next.push(group.length === 1 ? group[0] : one("Concat", group, { axis: 2 }));
    }
    level = next;
  }
  const all = level[0];
  const kept = one("Slice", [all, zero, rows, axis2]);
  const merged = one("Transpose", [kept], { perm: [0, 2, 1, 3] });
  nodes.push({
    opType: "Reshape",
    name: `${out}/chunked.merge:node`,
    input: [merged, consts.int64("attn_merge_heads", [0, 0, -1])],
    output: [out],
  });
  return nodes;
}

function intAttribute(node: Node, name: string): number {
  const a = node.attribute?.find((x) => x.name === name);
  if (!a) throw new Error(`${node.name}: attribute ${name} is missing`);
  return Number(a.i);
}

function floatAttribute(node: Node, name: string): number | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? Number(a.f) : undefined;
}

/** Small constants added to the graph as inline initializers, each once. */
class Constants {
  private readonly names = new Set<string>();

  constructor(private readonly graph: onnxProto.onnx.IGraphProto) {
    for (const init of graph.initializer ?? []) if (init.name) this.names.add(init.name);
  }

  int64(name: string, values: number[]): string {
    return this.add(name, onnx.TensorProto.DataType.INT64, [values.length], new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer));
  }

  float(name: string, value: number): string {
    return this.add(name, onnx.TensorProto.DataType.FLOAT, [], new Uint8Array(new Float32Array([value]).buffer));
  }

  private add(name: string, dataType: number, dims: number[], rawData: Uint8Array): string {
    const full = `chunked_attention/${name}`;
    if (!this.names.has(full)) {
      this.names.add(full);
      (this.graph.initializer ??= []).push({ name: full, dataType, dims, rawData });
    }
    return full;
  }
}
