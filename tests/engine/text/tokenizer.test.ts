import { mkdtempSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES } from "../../helpers/fixtures.ts";
import { cleanPrompt } from "../../../lib/engine/text/clean.ts";
import { DEFAULT_NEGATIVE_PROMPT } from "../../../lib/engine/text/negative-prompt.ts";
import { tinyTokenizerJson, writeTinyTokenizer } from "../../../lib/model-library/tiny-tokenizer.ts";
import { loadTokenizer, type PromptTokenizer } from "../../../lib/engine/text/tokenizer.ts";

const TEXT_LEN = 16; // the tiny T2V model's text length

let root: string;
let dir: string;
let vocabSize: number;
let tok: PromptTokenizer;
let raw: Tokenizer;

async function readJson(p: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(p, "utf8")) as Record<string, unknown>;
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), "tiny-tokenizer-"));
  dir = path.join(root, "tiny");
  const encoderConfig = await readJson(path.join(FIXTURES, "text_encoder", "config.json"));
  vocabSize = encoderConfig.vocab_size as number;
  await writeTinyTokenizer(dir, { vocabSize });
  tok = await loadTokenizer(dir);
  raw = new Tokenizer(await readJson(path.join(dir, "tokenizer.json")), await readJson(path.join(dir, "tokenizer_config.json")));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function ids(a: BigInt64Array): number[] {
  return Array.from(a, Number);
}

describe("tiny umT5-style tokenizer files", () => {
  it("match the tiny text encoder's vocabulary and umT5's special ids", async () => {
    expect(vocabSize).toBe(128);
    const json = await readJson(path.join(dir, "tokenizer.json"));
    const model = json.model as { type: string; unk_id: number; vocab: [string, number][] };
    expect(model.type).toBe("Unigram");
    expect(model.unk_id).toBe(2);
    expect(model.vocab).toHaveLength(128);
    expect(model.vocab.slice(0, 3).map(([p]) => p)).toEqual(["<pad>", "</s>", "<unk>"]);
    // Pieces after the specials carry log-probabilities, highest first, as in a SentencePiece vocabulary.
    const scores = model.vocab.slice(3).map(([, s]) => s);
    expect(scores.every((s) => s < 0)).toBe(true);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    const probability = scores.reduce((sum, s) => sum + Math.exp(s), 0);
    expect(probability).toBeCloseTo(1, 4);
    expect(new Set(model.vocab.map(([p]) => p)).size).toBe(128);
    expect(json.pre_tokenizer).toMatchObject({ type: "Metaspace", replacement: "\u2581", prepend_scheme: "always" });
    expect(json.decoder).toMatchObject({ type: "Metaspace", replacement: "\u2581" });
    expect(json.post_processor).toMatchObject({ type: "TemplateProcessing" });
    expect(tok.padId).toBe(0);
    expect(tok.eosId).toBe(1);
    expect(tok.vocabSize).toBe(128);
    expect(await readJson(path.join(dir, "special_tokens_map.json"))).toEqual({ eos_token: "</s>", pad_token: "<pad>", unk_token: "<unk>" });
  });

  it("are written deterministically", async () => {
    const again = path.join(root, "again");
    await writeTinyTokenizer(again, { vocabSize });
    for (const file of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]) {
      expect(await readFile(path.join(again, file), "utf8")).toBe(await readFile(path.join(dir, file), "utf8"));
    }
  });

  it("rejects vocabulary sizes it cannot fill", () => {
    expect(() => tinyTokenizerJson(10)).toThrow(/vocabulary must be an integer/);
    expect(() => tinyTokenizerJson(10_000)).toThrow(/vocabulary must be an integer/);
  });

  it("prefer whole word pieces over spelling words out (Unigram Viterbi)", () => {
    expect(raw.tokenize("the cat is on a red car")).toEqual(["\u2581the", "\u2581cat", "\u2581is", "\u2581on", "\u2581a", "\u2581red", "\u2581c", "ar"]);
    expect(raw.tokenize("lighting")).toEqual(["\u2581light", "ing"]);
  });

  it("round-trip plain lowercase English through encode and decode", () => {
    for (const text of [
      "a cat sits on the mat",
      "slow camera pan over the city at night, with red and blue light.",
      "the quick brown fox jumps over the lazy dog 1234567890",
    ]) {
      const encoded = tok.encodeUnpadded(text, 512);
      expect(ids(encoded.ids)).not.toContain(2);
      expect(tok.decode(encoded.ids)).toBe(text);
    }
  });

  it("tokenize any English prompt into real pieces, capitals and punctuation included", () => {
    const encoded = tok.encodeUnpadded("A Golden Retriever (3 years old) runs: fast & happy! Why? \"Yes\" - it's 4K/60", 512);
    expect(ids(encoded.ids)).not.toContain(2);
  });
});

describe("prompt tokenizer (umT5 behaviour, docs/model-notes.md#prompt-handling)", () => {
  it("appends EOS = 1 and pads with 0, with a mask of ones then zeros", () => {
    const plain = raw.encode("a cat", { add_special_tokens: false }).ids;
    const p = tok.encode("a cat", TEXT_LEN);
    expect(p.ids).toBeInstanceOf(BigInt64Array);
    expect(p.mask).toBeInstanceOf(BigInt64Array);
    expect(p.length).toBe(plain.length + 1);
    expect(ids(p.ids)).toEqual([...plain, 1, ...new Array(TEXT_LEN - plain.length - 1).fill(0)]);
    expect(ids(p.mask)).toEqual([...new Array(p.length).fill(1), ...new Array(TEXT_LEN - p.length).fill(0)]);
  });

  it("matches the golden inputs' layout: n−1 tokens, EOS, then padding", () => {
    const p = tok.encode("a red car on a street at night", TEXT_LEN);
    const eosAt = ids(p.ids).indexOf(1);
    expect(eosAt).toBe(p.length - 1);
    expect(ids(p.mask).reduce((a, b) => a + b, 0)).toBe(p.length);
    expect(ids(p.ids).slice(p.length).every((id) => id === 0)).toBe(true);
  });

  it("encodes an empty prompt as EOS alone", () => {
    const p = tok.encode("", 4);
    expect(ids(p.ids)).toEqual([1, 0, 0, 0]);
    expect(ids(p.mask)).toEqual([1, 0, 0, 0]);
    expect(p.length).toBe(1);
  });

  it("truncates like HF with truncation=True: the first textLen−1 tokens, then EOS", () => {
    const long = Array.from({ length: 40 }, (_, i) => `the cat number ${i} walks`).join(", ");
    const full = raw.encode(long, { add_special_tokens: false }).ids;
    expect(full.length).toBeGreaterThan(TEXT_LEN);
    const p = tok.encode(long, TEXT_LEN);
    expect(p.length).toBe(TEXT_LEN);
    expect(ids(p.ids)).toEqual([...full.slice(0, TEXT_LEN - 1), 1]);
    expect(ids(p.mask).every((m) => m === 1)).toBe(true);
    // Exactly textLen−1 tokens + EOS also fits without loss.
    const exact = raw.decode(full.slice(0, TEXT_LEN - 1), { skip_special_tokens: true });
    expect(ids(tok.encode(exact, TEXT_LEN).ids)).toEqual([...raw.encode(exact, { add_special_tokens: false }).ids, 1]);
    expect(ids(tok.encode(long, 1).ids)).toEqual([1]);
  });

  it("rejects text lengths that cannot hold EOS", () => {
    expect(() => tok.encode("a cat", 0)).toThrow(/at least 1/);
    expect(() => tok.encodeUnpadded("a cat", 2.5)).toThrow(/integer/);
  });

  it("gives the unpadded ids the encoder runs on: the padded ids up to length", () => {
    for (const text of ["a cat", "", "the slow camera moves over a green city"]) {
      const padded = tok.encode(text, TEXT_LEN);
      const unpadded = tok.encodeUnpadded(text, TEXT_LEN);
      expect(unpadded.length).toBe(padded.length);
      expect(ids(unpadded.ids)).toEqual(ids(padded.ids).slice(0, padded.length));
    }
  });

  it("is deterministic, across calls and across loads", async () => {
    const text = "a woman walks her dog in the rain, slow motion";
    const first = tok.encode(text, TEXT_LEN);
    const second = (await loadTokenizer(path.join(dir, "tokenizer.json"))).encode(text, TEXT_LEN);
    expect(ids(second.ids)).toEqual(ids(first.ids));
    expect(ids(tok.encode(text, TEXT_LEN).ids)).toEqual(ids(first.ids));
  });

  it("maps characters outside the vocabulary to <unk> = 2, one per run", () => {
    const marker = raw.token_to_id("\u2581")!;
    expect(ids(tok.encodeUnpadded("猫", 8).ids)).toEqual([marker, 2, 1]);
    // SentencePiece and HF fuse a run of unknown characters into one <unk>.
    expect(ids(tok.encodeUnpadded("猫狗鸟", 8).ids)).toEqual([marker, 2, 1]);
    const mixed = ids(tok.encodeUnpadded("a 猫 cat", 8).ids);
    expect(mixed.filter((id) => id === 2)).toHaveLength(1);
    expect(mixed.at(-1)).toBe(1);
  });

  it("reads a special-token string typed in a prompt as that token, as HF does", () => {
    const a = raw.token_to_id("\u2581a")!;
    const cat = raw.token_to_id("\u2581cat")!;
    expect(ids(tok.encodeUnpadded("a </s> cat", 8).ids)).toEqual([a, 1, cat, 1]);
  });

  it("encodes the Chinese default negative prompt without crashing", () => {
    const cleaned = cleanPrompt(DEFAULT_NEGATIVE_PROMPT);
    const p = tok.encode(cleaned, 512);
    const real = ids(p.ids).slice(0, p.length);
    // 28 runs of Chinese → 28 <unk>, 27 commas, "JPEG" spelled in capitals, "▁" at the start, EOS.
    const comma = raw.token_to_id(",")!;
    expect(real.filter((id) => id === 2)).toHaveLength(28);
    expect(real.filter((id) => id === comma)).toHaveLength(27);
    expect(real.at(-1)).toBe(1);
    expect(p.length).toBe(1 + 28 + 27 + 4 + 1);
    // The raw (uncleaned) prompt gives the same ids: the normalizer's NFKC also maps "，" to ",".
    expect(ids(tok.encode(DEFAULT_NEGATIVE_PROMPT, 512).ids)).toEqual(ids(p.ids));
  });
});

describe("loading", () => {
  it("finds tokenizer.json in a model directory, a Diffusers tokenizer/ folder or the official layout", async () => {
    const diffusers = path.join(root, "diffusers");
    await writeTinyTokenizer(path.join(diffusers, "tokenizer"), { vocabSize });
    const official = path.join(root, "official");
    await writeTinyTokenizer(path.join(official, "google", "umt5-xxl"), { vocabSize });
    const expected = ids(tok.encode("a cat", TEXT_LEN).ids);
    for (const location of [dir, path.join(dir, "tokenizer.json"), diffusers, official]) {
      const t = await loadTokenizer(location);
      expect(ids(t.encode("a cat", TEXT_LEN).ids)).toEqual(expected);
    }
    expect((await loadTokenizer(diffusers)).source).toBe(path.join(diffusers, "tokenizer", "tokenizer.json"));
  });

  it("says what is missing", async () => {
    const empty = path.join(root, "empty");
    await mkdir(empty);
    await expect(loadTokenizer(empty)).rejects.toThrow(/No tokenizer.json in .*empty/);
    await expect(loadTokenizer(path.join(root, "nope"))).rejects.toThrow(/does not exist/);
  });
});
