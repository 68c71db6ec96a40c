/**
 * The DiT's text context (official wan/modules/model.py, WanModel.forward (text_embedding of the zero-padded context); docs/model-notes.md#prompt-handling): the encoder output is trimmed to the prompt's real
 * tokens (L_txt rows), and the DiT zero-pads it back to its text length (512 for Wan 2.1) before the text
 * MLP. The padded rows are zeros on input — they become a constant vector after the MLP and are attended
 * like any other row, so the padding must be exactly zero, not left uninitialised or masked.
 */

/** Zero-pads a row-major [rows, dim] encoder output to [textLen, dim]; the input is left untouched. */
export function padContext(hidden: Float32Array, rows: number, dim: number, textLen: number): Float32Array {
  return writePaddedContext(new Float32Array(Math.max(0, textLen * dim)), 0, hidden, rows, dim, textLen);
}

/**
 * Writes the zero-padded [textLen, dim] context at `offset` of `out` (one batch element of the DiT's
 * context input, which the caller allocated zeroed) and returns `out`.
 */
export function writePaddedContext(
  out: Float32Array,
  offset: number,
  hidden: Float32Array,
  rows: number,
  dim: number,
  textLen: number,
): Float32Array {
  if (!Number.isInteger(rows) || !Number.isInteger(dim) || !Number.isInteger(textLen) || rows < 0 || dim <= 0 || textLen <= 0) {
    throw new Error(`Invalid context shape: rows ${rows}, dim ${dim}, text length ${textLen}`);
  }
  if (hidden.length !== rows * dim) {
    throw new Error(`Context holds ${hidden.length} floats, expected ${rows}×${dim} = ${rows * dim}`);
  }
  if (rows > textLen) {
    throw new Error(`Context has ${rows} rows but the text length is ${textLen}; the tokenizer should have truncated it`);
  }
  out.fill(0, offset + rows * dim, offset + textLen * dim);
  out.set(hidden, offset);
  return out;
}
