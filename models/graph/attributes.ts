/**
 * Node attributes. Integers and integer lists become INT/INTS, strings STRING; floats must be marked
 * with `float()` / `floats()` so that `epsilon: float(1)` is not taken for an integer.
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export type FloatAttr = { readonly kind: "float"; readonly value: number };
export type FloatsAttr = { readonly kind: "floats"; readonly value: readonly number[] };
export type AttrValue = number | string | readonly number[] | FloatAttr | FloatsAttr;

export function float(value: number): FloatAttr {
  return { kind: "float", value };
}

export function floats(value: readonly number[]): FloatsAttr {
  return { kind: "floats", value };
}

export function encodeAttribute(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === "string") return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return { name, type: T.FLOAT, f: value };
    return { name, type: T.INT, i: value };
  }
  if (Array.isArray(value)) {
    const list = value as readonly number[];
    if (!list.every(Number.isInteger)) return { name, type: T.FLOATS, floats: [...list] };
    return { name, type: T.INTS, ints: [...list] };
  }
  const tagged = value as FloatAttr | FloatsAttr;
  if (tagged.kind === "float") return { name, type: T.FLOAT, f: tagged.value };
  return { name, type: T.FLOATS, floats: [...tagged.value] };
}
