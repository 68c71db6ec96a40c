/**
 * A per-worker LRU cache of text-encoder outputs. Encoding a prompt with umT5-XXL costs a 5.7 B-parameter
 * forward pass (official wan/modules/t5.py, T5Encoder), and every classifier-free-guidance job also encodes a negative prompt — usually the
 * same default (docs/model-notes.md#prompt-handling) — so repeated texts should be encoded once.
 *
 * Keyed by (model id, cleaned text, text length): the model id separates encoders (and their precisions),
 * the text must already be cleaned so that variants differing only in whitespace or entities share an entry,
 * and the text length is part of the key because truncation depends on it.
 *
 * The budget is in bytes of Float32 data. An entry larger than the whole budget is returned but not kept.
 * Concurrent requests for the same key share one in-flight encode; a failed encode is not cached, so the
 * next request tries again. Returned embeddings are shared between callers: treat them as read-only.
 */

/** An encoder output: `rows` token rows of `dim` floats, row-major. */
export type Embedding = { data: Float32Array; rows: number; dim: number };

export type EmbeddingKey = { modelId: string; text: string; textLen: number };

export type EmbeddingCacheStats = {
  /** Requests answered from a stored entry. */
  hits: number;
  /** Requests that joined an encode already in flight for the same key. */
  sharedInFlight: number;
  /** Requests that ran the encode function. */
  misses: number;
  /** Entries dropped to stay within the byte budget. */
  evictions: number;
  entries: number;
  bytes: number;
};

function keyString({ modelId, text, textLen }: EmbeddingKey): string {
  // JSON keeps the three parts unambiguous whatever characters the text contains.
  return JSON.stringify([modelId, textLen, text]);
}

function checkEmbedding(e: Embedding): void {
  if (!Number.isInteger(e.rows) || !Number.isInteger(e.dim) || e.rows < 0 || e.dim <= 0 || e.data.length !== e.rows * e.dim) {
    throw new Error(`Encoder returned ${e.data.length} floats for ${e.rows}×${e.dim}`);
  }
}

export class EmbeddingCache {
  readonly maxBytes: number;
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Embedding>();
  private readonly inFlight = new Map<string, Promise<Embedding>>();
  private bytes = 0;
  /** Bumped by clear(), so an encode that started before it does not repopulate the cache. */
  private generation = 0;
  private counts = { hits: 0, sharedInFlight: 0, misses: 0, evictions: 0 };

  constructor(options: { maxBytes: number }) {
    if (!(options.maxBytes >= 0)) throw new Error(`Embedding cache budget must be ≥ 0 bytes (got ${options.maxBytes})`);
    this.maxBytes = options.maxBytes;
  }

  /** The cached embedding for `key`, or the result of `encode()` (run at most once per key at a time). */
  getOrEncode(key: EmbeddingKey, encode: () => Promise<Embedding>): Promise<Embedding> {
    const k = keyString(key);
    const stored = this.entries.get(k);
    if (stored) {
      this.counts.hits++;
      this.entries.delete(k);
      this.entries.set(k, stored);
      return Promise.resolve(stored);
    }
    const pending = this.inFlight.get(k);
    if (pending) {
      this.counts.sharedInFlight++;
      return pending;
    }
    this.counts.misses++;
    const generation = this.generation;
    // Started on a later microtask so that an encode function that throws synchronously still rejects
    // this promise instead of escaping from getOrEncode.
    const run = Promise.resolve()
      .then(encode)
      .then((embedding) => {
        checkEmbedding(embedding);
        if (generation === this.generation) this.store(k, embedding);
        return embedding;
      });
    const forget = () => {
      if (this.inFlight.get(k) === run) this.inFlight.delete(k);
    };
    run.then(forget, forget);
    this.inFlight.set(k, run);
    return run;
  }

  has(key: EmbeddingKey): boolean {
    return this.entries.has(keyString(key));
  }

  stats(): EmbeddingCacheStats {
    return { ...this.counts, entries: this.entries.size, bytes: this.bytes };
  }

  /** Drops every entry (e.g. when the worker unloads the text encoder). Encodes in flight still resolve. */
  clear(): void {
    this.entries.clear();
    this.inFlight.clear();
    this.bytes = 0;
    this.generation++;
  }

  private store(k: string, embedding: Embedding): void {
    const size = embedding.data.byteLength;
    if (size > this.maxBytes) return;
    while (this.bytes + size > this.maxBytes) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, Embedding];
      this.entries.delete(oldestKey);
      this.bytes -= oldest.data.byteLength;
      this.counts.evictions++;
    }
    this.entries.set(k, embedding);
    this.bytes += size;
  }
}
