/**
 * Seeded Gaussian noise for the initial latent: the same seed gives bit-identical float32 values on every run
 * and machine, so a job's seed fully reproduces its video.
 *
 * Algorithm (enough to re-implement it in any language):
 *   1. Bits: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11; the Random123
 *      reference constants). Key (k0, k1) = the seed's low and high 32 bits (seed in [0, 2^53 − 1]).
 *      Block n (n = 0, 1, 2, …) encrypts the counter (c0, c1, c2, c3) = (n mod 2^32, floor(n / 2^32), 0, 0)
 *      into four uint32 words (x0, x1, x2, x3). One round, with 32×32→64-bit products split as (hi, lo):
 *        (hi0, lo0) = 0xD2511F53 · c0,  (hi1, lo1) = 0xCD9E8D57 · c2,
 *        (c0, c1, c2, c3) ← (hi1 ⊕ c1 ⊕ k0, lo1, hi0 ⊕ c3 ⊕ k1, lo0),
 *      then the key is bumped k0 += 0x9E3779B9, k1 += 0xBB67AE85 (mod 2^32); 10 rounds (no bump after the last).
 *   2. Uniforms with 53 random bits, in float64:
 *        a = (x0 >>> 5)·2^26 + (x1 >>> 6),  b = (x2 >>> 5)·2^26 + (x3 >>> 6)      (integers in [0, 2^53))
 *        u1 = (2^53 − a)·2^−53 ∈ (0, 1]   (never 0, so the logarithm is finite),   u2 = b·2^−53 ∈ [0, 1)
 *   3. Box–Muller in float64: r = sqrt(−2·ln u1), θ = 2π·u2;
 *        z[2n] = r·cos θ,  z[2n+1] = r·sin θ,  each rounded to float32 (the last one dropped for an odd count).
 * Counter-based, so value j depends only on (seed, j): a prefix of a longer request is identical, and chunks can
 * be generated independently. Node evaluates ln/cos/sin with V8's software (fdlibm-derived) routines, so results
 * do not depend on the CPU; another language's libm may differ by one float64 ulp, which almost never changes the
 * float32 value.
 *
 * This is NOT PyTorch's generator: the official Wan code draws its noise with torch's CUDA Philox normal sampler
 * (official wan/text2video.py, WanT2V.generate (seeded noise)), which lays out counters and transforms bits differently, so a given seed does not produce the
 * same noise (or video) as the official code. Seeds are only reproducible within this studio.
 */

/** Largest seed: seeds must be exact integers in a float64 (Number.MAX_SAFE_INTEGER). */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const PHILOX_ROUNDS = 10;

const TWO_POW_26 = 2 ** 26;
const TWO_POW_32 = 2 ** 32;
const TWO_POW_53 = 2 ** 53;
const TWO_POW_MINUS_53 = 2 ** -53;

/** The high 32 bits of the 64-bit product of two uint32 (the low half is Math.imul). */
function mulHi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const lolo = aLo * bLo;
  const lohi = aLo * bHi;
  const hilo = aHi * bLo;
  const carry = ((lolo >>> 16) + (lohi & 0xffff) + (hilo & 0xffff)) >>> 16;
  return (aHi * bHi + (lohi >>> 16) + (hilo >>> 16) + carry) >>> 0;
}

/**
 * Philox4x32-10: encrypts a 128-bit counter under a 64-bit key. Writes the four output words into `out` (or a new
 * array). Exported so the Random123 known-answer vectors can be checked.
 */
export function philox4x32(
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  let [c0, c1, c2, c3] = counter;
  let [k0, k1] = key;
  for (let round = 0; round < PHILOX_ROUNDS; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulHi(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulHi(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** Validates a seed and splits it into the Philox key (low, high 32 bits). */
export function seedKey(seed: number | bigint): [number, number] {
  const value = typeof seed === "bigint" ? seed : Number.isInteger(seed) ? BigInt(seed) : undefined;
  if (value === undefined || value < 0n || value > BigInt(MAX_SEED)) {
    throw new RangeError(`seed must be an integer in [0, 2^53 − 1], got ${String(seed)}`);
  }
  return [Number(value & 0xffffffffn), Number(value >> 32n)];
}

/**
 * `count` standard normal values (mean 0, variance 1) as float32, fully determined by `seed`: values
 * offset…offset + count − 1 of the seed's stream (value j of the stream is the same whatever the offset, so a
 * sampler that draws more noise after the initial latent can continue the stream where it ended).
 */
export function gaussianNoise(seed: number | bigint, count: number, offset = 0): Float32Array {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
  const key = seedKey(seed);
  const out = new Float32Array(count);
  const words = new Uint32Array(4);
  const end = offset + count;
  for (let n = Math.floor(offset / 2); 2 * n < end; n++) {
    philox4x32([n % TWO_POW_32, Math.floor(n / TWO_POW_32), 0, 0], key, words);
    const a = (words[0] >>> 5) * TWO_POW_26 + (words[1] >>> 6);
    const b = (words[2] >>> 5) * TWO_POW_26 + (words[3] >>> 6);
    const u1 = (TWO_POW_53 - a) * TWO_POW_MINUS_53;
    const u2 = b * TWO_POW_MINUS_53;
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    if (2 * n >= offset) out[2 * n - offset] = r * Math.cos(theta);
    if (2 * n + 1 >= offset && 2 * n + 1 < end) out[2 * n + 1 - offset] = r * Math.sin(theta);
  }
  return out;
}

/** A fresh random seed in [0, 2^32) from the platform's cryptographic generator (for "seed: random" jobs). */
export function randomSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0];
}
