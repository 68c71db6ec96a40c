import { describe, expect, it } from "vitest";
import { EmbeddingCache, type Embedding, type EmbeddingKey } from "../../../lib/engine/text/embedding-cache.ts";

const DIM = 4;
const ROW_BYTES = DIM * 4;

/** An encoder stand-in whose output depends on the text, and which counts its calls. */
function counter() {
  let calls = 0;
  const encode = (text: string, rows: number) => async (): Promise<Embedding> => {
    calls++;
    const data = Float32Array.from({ length: rows * DIM }, (_, i) => text.length * 1000 + i);
    return { data, rows, dim: DIM };
  };
  return { encode, calls: () => calls };
}

function key(text: string, textLen = 512, modelId = "umt5-xxl"): EmbeddingKey {
  return { modelId, text, textLen };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("embedding cache", () => {
  it("encodes a text once and serves repeats from the cache", async () => {
    const cache = new EmbeddingCache({ maxBytes: 1 << 20 });
    const enc = counter();
    const first = await cache.getOrEncode(key("a cat"), enc.encode("a cat", 3));
    const again = await cache.getOrEncode(key("a cat"), enc.encode("a cat", 3));
    expect(again).toBe(first);
    expect(enc.calls()).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, sharedInFlight: 0, entries: 1, bytes: 3 * ROW_BYTES });
  });

  it("keys on model id, text and text length", async () => {
    const cache = new EmbeddingCache({ maxBytes: 1 << 20 });
    const enc = counter();
    await cache.getOrEncode(key("a cat"), enc.encode("a cat", 3));
    await cache.getOrEncode(key("a cat", 16), enc.encode("a cat", 3));
    await cache.getOrEncode(key("a cat", 512, "umt5-tiny"), enc.encode("a cat", 3));
    await cache.getOrEncode(key("a cat "), enc.encode("a cat ", 3));
    expect(enc.calls()).toBe(4);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 4, entries: 4 });
    expect(cache.has(key("a cat", 16))).toBe(true);
    expect(cache.has(key("a dog"))).toBe(false);
  });

  it("evicts the least recently used entries to stay within the byte budget", async () => {
    // Room for 5 rows: A (2 rows) and B (2 rows) fit; C (2 rows) pushes out whichever was used least recently.
    const cache = new EmbeddingCache({ maxBytes: 5 * ROW_BYTES });
    const enc = counter();
    await cache.getOrEncode(key("A"), enc.encode("A", 2));
    await cache.getOrEncode(key("B"), enc.encode("B", 2));
    await cache.getOrEncode(key("A"), enc.encode("A", 2)); // A is now the most recent
    await cache.getOrEncode(key("C"), enc.encode("C", 2));
    expect(cache.has(key("A"))).toBe(true);
    expect(cache.has(key("B"))).toBe(false);
    expect(cache.has(key("C"))).toBe(true);
    expect(cache.stats()).toMatchObject({ evictions: 1, entries: 2, bytes: 4 * ROW_BYTES });
    // A 4-row entry needs both current entries gone.
    await cache.getOrEncode(key("DDDD"), enc.encode("DDDD", 4));
    expect(cache.stats()).toMatchObject({ evictions: 3, entries: 1, bytes: 4 * ROW_BYTES });
    expect(enc.calls()).toBe(4);
  });

  it("returns but does not keep an entry larger than the whole budget", async () => {
    const cache = new EmbeddingCache({ maxBytes: 2 * ROW_BYTES });
    const enc = counter();
    await cache.getOrEncode(key("small"), enc.encode("small", 1));
    const big = await cache.getOrEncode(key("big"), enc.encode("big", 3));
    expect(big.rows).toBe(3);
    expect(cache.has(key("big"))).toBe(false);
    expect(cache.has(key("small"))).toBe(true);
    expect(cache.stats()).toMatchObject({ evictions: 0, entries: 1, bytes: ROW_BYTES });
  });

  it("shares one in-flight encode between concurrent requests for the same key", async () => {
    const cache = new EmbeddingCache({ maxBytes: 1 << 20 });
    const gate = deferred<Embedding>();
    let calls = 0;
    const encode = () => {
      calls++;
      return gate.promise;
    };
    const a = cache.getOrEncode(key("neg"), encode);
    const b = cache.getOrEncode(key("neg"), encode);
    const other = cache.getOrEncode(key("pos"), counter().encode("pos", 1));
    const embedding: Embedding = { data: new Float32Array(2 * DIM).fill(7), rows: 2, dim: DIM };
    gate.resolve(embedding);
    const [ra, rb] = await Promise.all([a, b, other]);
    expect(ra).toBe(embedding);
    expect(rb).toBe(embedding);
    expect(calls).toBe(1);
    expect(cache.stats()).toMatchObject({ misses: 2, sharedInFlight: 1, hits: 0, entries: 2 });
    await cache.getOrEncode(key("neg"), encode);
    expect(calls).toBe(1);
    expect(cache.stats().hits).toBe(1);
  });

  it("does not cache failures: every waiter sees the error and the next request encodes again", async () => {
    const cache = new EmbeddingCache({ maxBytes: 1 << 20 });
    const gate = deferred<Embedding>();
    const a = cache.getOrEncode(key("x"), () => gate.promise);
    const b = cache.getOrEncode(key("x"), () => gate.promise);
    gate.reject(new Error("session lost"));
    await expect(a).rejects.toThrow("session lost");
    await expect(b).rejects.toThrow("session lost");
    expect(cache.has(key("x"))).toBe(false);
    const enc = counter();
    await cache.getOrEncode(key("x"), enc.encode("x", 1));
    expect(enc.calls()).toBe(1);
    expect(cache.has(key("x"))).toBe(true);
  });

  it("turns a synchronous throw and a malformed result into rejections", async () => {
    const cache = new EmbeddingCache({ maxBytes: 1 << 20 });
    await expect(
      cache.getOrEncode(key("sync"), () => {
        throw new Error("bad input");
      }),
    ).rejects.toThrow("bad input");
    await expect(
      cache.getOrEncode(key("shape"), async () => ({ data: new Float32Array(5), rows: 2, dim: DIM })),
    ).rejects.toThrow(/5 floats for 2×4/);
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it("clear() empties the cache, and an encode started before it does not refill it", async () => {
    const cache = new EmbeddingCache({ maxBytes: 1 << 20 });
    const enc = counter();
    await cache.getOrEncode(key("a"), enc.encode("a", 1));
    const gate = deferred<Embedding>();
    const pending = cache.getOrEncode(key("b"), () => gate.promise);
    cache.clear();
    gate.resolve({ data: new Float32Array(DIM), rows: 1, dim: DIM });
    await pending;
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
    expect(cache.has(key("a"))).toBe(false);
    expect(cache.has(key("b"))).toBe(false);
  });
});
