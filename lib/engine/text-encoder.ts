/**
 * Runs the umT5 encoder graph (models/umt5.ts) on one prompt's token ids: the relative-position buckets
 * are computed here, and only the real tokens are fed — no padding and no mask (docs/model-notes.md#prompt-handling "derived
 * simplification": the official run pads to 512 with a mask and then keeps the first L rows, which equal
 * the rows of this run because padded keys are masked and the bias depends only on index differences).
 */
import * as ort from "onnxruntime-node";

/**
 * T5's bidirectional relative-position bucket of rel = key − query (official wan/modules/t5.py, T5RelativeEmbedding): half the buckets per direction,
 * +half for rel > 0; n = |rel|; n < half/2 → n; else half/2 + ⌊ln(n / (half/2)) / ln(maxDistance / (half/2)) ·
 * (half − half/2)⌋, capped at half − 1. With 32 buckets and distance 128, bucket 16 is never produced.
 */
export function relativePositionBuckets(length: number, numBuckets = 32, maxDistance = 128): BigInt64Array {
  if (!Number.isInteger(length) || length < 0) throw new Error(`relativePositionBuckets: bad length ${length}`);
  const half = numBuckets >> 1;
  const byDistance = Array.from({ length }, (_, n) => distanceBucket(n, half, maxDistance));
  const out = new BigInt64Array(length * length);
  for (let q = 0; q < length; q++) {
    for (let k = 0; k < length; k++) {
      const rel = k - q;
      out[q * length + k] = BigInt(byDistance[Math.abs(rel)] + (rel > 0 ? half : 0));
    }
  }
  return out;
}

/**
 * The bucket of distance n within one direction. The logarithmic part is evaluated exactly, in integers:
 * ⌊s · ln(n/e) / ln(m/e)⌋ ≥ j ⇔ (n/e)^s ≥ (m/e)^j ⇔ n^s · e^j ≥ m^j · e^s. Floating point would put the
 * distances where the real value is a whole number (16, 32, 64 for the defaults) on either side of the
 * step depending on rounding; the exact form gives the official wan/modules/t5.py, T5RelativeEmbedding._relative_position_bucket (16 → 10, 32 → 12, 64 → 14).
 */
function distanceBucket(n: number, half: number, maxDistance: number): number {
  const exact = half >> 1;
  if (n < exact) return n;
  const steps = half - exact;
  const [N, E, M] = [BigInt(n), BigInt(exact), BigInt(maxDistance)];
  const lhs = N ** BigInt(steps);
  let j = 0;
  while (j + 1 < steps && lhs * E ** BigInt(j + 1) >= M ** BigInt(j + 1) * E ** BigInt(steps)) j++;
  return exact + j;
}

export type EncodedText = {
  /** [rows, dim] row-major: one row per real token. */
  hidden: Float32Array;
  rows: number;
  dim: number;
};

/**
 * Encodes the first `length` ids (the real tokens, EOS included — the tokenizer's attention-mask ones) with
 * a session of the umT5 graph. Bucket count and distance are the model's (official wan/modules/t5.py, T5RelativeEmbedding defaults).
 */
export async function encodeTokens(
  session: ort.InferenceSession,
  ids: bigint[] | BigInt64Array,
  length: number,
  opts: { numBuckets?: number; maxDistance?: number } = {},
): Promise<EncodedText> {
  if (!Number.isInteger(length) || length < 1 || length > ids.length) {
    throw new Error(`encodeTokens: length ${length} is outside 1…${ids.length}`);
  }
  const tokens = BigInt64Array.from(ids.slice(0, length));
  const buckets = relativePositionBuckets(length, opts.numBuckets, opts.maxDistance);
  const out = await session.run({
    input_ids: new ort.Tensor("int64", tokens, [1, length]),
    rel_buckets: new ort.Tensor("int64", buckets, [length, length]),
  });
  const hidden = out.hidden;
  const [, rows, dim] = hidden.dims;
  if (rows !== length) throw new Error(`text encoder returned ${rows} rows for ${length} tokens`);
  return { hidden: hidden.data as Float32Array, rows, dim };
}
