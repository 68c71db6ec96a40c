/**
 * Prompt → umT5 embedding, as the official pipeline does it (docs/model-notes.md#prompt-handling): clean the text, tokenize to the
 * model's text length (truncating, EOS appended), run the encoder on the real tokens only, keep those rows.
 * Embeddings are cached per worker by (model, cleaned text, text length), so a repeated prompt and the default
 * negative prompt are encoded once.
 */
import type * as ort from "onnxruntime-node";
import { cleanPrompt } from "./text/clean.ts";
import { EmbeddingCache, type Embedding } from "./text/embedding-cache.ts";
import type { PromptTokenizer } from "./text/tokenizer.ts";
import { encodeTokens } from "./text-encoder.ts";

/** Enough for a few hundred prompts of the real model (512 rows × 4096 × 4 bytes = 8 MB at most each). */
const CACHE_BYTES = 256 * 1024 * 1024;

export class PromptEncoder {
  private readonly cache = new EmbeddingCache({ maxBytes: CACHE_BYTES });

  constructor(
    private readonly modelId: string,
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: PromptTokenizer,
    private readonly textLen: number,
    private readonly buckets: { numBuckets: number; maxDistance: number },
  ) {}

  /** The embedding [rows, dim] of `text` (rows ≤ text length). */
  async encode(text: string): Promise<Embedding> {
    const cleaned = cleanPrompt(text);
    return this.cache.getOrEncode({ modelId: this.modelId, text: cleaned, textLen: this.textLen }, async () => {
      const { ids, length } = this.tokenizer.encodeUnpadded(cleaned, this.textLen);
      const out = await encodeTokens(this.session, ids, length, this.buckets);
      return { data: out.hidden, rows: out.rows, dim: out.dim };
    });
  }

  stats() {
    return this.cache.stats();
  }
}
