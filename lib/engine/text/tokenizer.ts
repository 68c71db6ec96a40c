/**
 * The umT5 prompt tokenizer (docs/model-notes.md#prompt-handling), driven by a Hugging Face `tokenizer.json` through
 * `@huggingface/tokenizers` (pure JS: normalizer, Metaspace pre-tokenizer, Unigram model, post-processor).
 *
 * What this adds on top of the library is the part Transformers does around the Rust tokenizer when WAN
 * calls it with `padding='max_length', truncation=True, max_length=text_len, add_special_tokens=True`:
 * - the special tokens come from the tokenizer's own post-processor (for umT5: "</s>" = 1 appended, no BOS);
 * - truncation keeps them: the prompt's tokens are cut to `textLen − (number of special tokens)` and the
 *   special tokens are added after, so a too-long prompt still ends in EOS (what HF's truncation does);
 * - padding on the right with the pad id (umT5: "<pad>" = 0) and an attention mask of 1s then 0s.
 *
 * Text is tokenized as given: clean it with `cleanPrompt` first, as WAN does inside its tokenizer wrapper.
 * As in HF, special-token strings typed in a prompt ("</s>") are recognised as those tokens.
 *
 * Known gap with the real umT5 file: its normalizer is SentencePiece's precompiled `nmt_nfkc` charsmap,
 * which `@huggingface/tokenizers` does not read — it substitutes NFKC plus its own control-character and
 * whitespace mapping. Characters whose charsmap entry differs from plain NFKC (nmt_nfkc adds a few custom
 * mappings) can therefore tokenize differently from Transformers. Not checked against the real file: it is
 * not available offline.
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";

/** A prompt padded to the model's text length (WAN's `ids` and `mask`, int64 like the ONNX inputs). */
export type TokenizedPrompt = {
  /** [textLen] token ids, padded with the pad id. */
  ids: BigInt64Array;
  /** [textLen] 1 for real tokens (EOS included), 0 for padding. */
  mask: BigInt64Array;
  /** Number of real tokens, EOS included (L_txt in docs/model-notes.md#prompt-handling). */
  length: number;
};

/** Only the real tokens: what the encoder runs on under the derived simplification of docs/model-notes.md#prompt-handling. */
export type UnpaddedPrompt = { ids: BigInt64Array; length: number };

export interface PromptTokenizer {
  readonly padId: number;
  readonly eosId: number;
  /** One more than the largest id the tokenizer can emit; must not exceed the encoder's embedding rows. */
  readonly vocabSize: number;
  /** Where the tokenizer.json came from, for logs and error messages. */
  readonly source: string;
  encode(text: string, textLen: number): TokenizedPrompt;
  encodeUnpadded(text: string, textLen: number): UnpaddedPrompt;
  /** Token ids back to text (special tokens dropped), for showing the user what the model saw. */
  decode(ids: ArrayLike<number | bigint>): string;
}

/** Places a tokenizer.json lives, relative to a model directory: plain, Diffusers `tokenizer/`, official Wan. */
const TOKENIZER_CANDIDATES = ["tokenizer.json", "tokenizer/tokenizer.json", "google/umt5-xxl/tokenizer.json"];

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

async function resolveTokenizerJson(location: string): Promise<string> {
  const info = await stat(location).catch(() => undefined);
  if (!info) throw new Error(`Tokenizer not found: ${location} does not exist`);
  if (info.isFile()) return location;
  for (const candidate of TOKENIZER_CANDIDATES) {
    const p = path.join(location, candidate);
    if (await isFile(p)) return p;
  }
  throw new Error(`No tokenizer.json in ${location} (looked for ${TOKENIZER_CANDIDATES.join(", ")})`);
}

async function readJsonIfPresent(p: string): Promise<Record<string, unknown> | undefined> {
  if (!(await isFile(p))) return undefined;
  return JSON.parse(await readFile(p, "utf8")) as Record<string, unknown>;
}

/** Special-token entries may be plain strings or serialized AddedTokens ({ content: "</s>", … }). */
function tokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  return undefined;
}

/**
 * Transformers' view of the tokenizer settings: tokenizer_config.json, with special_tokens_map.json filling
 * in what it lacks. Special tokens are flattened to strings, the form `@huggingface/tokenizers` reads.
 */
async function readTokenizerConfig(dir: string): Promise<Record<string, unknown>> {
  const config = { ...(await readJsonIfPresent(path.join(dir, "special_tokens_map.json"))), ...(await readJsonIfPresent(path.join(dir, "tokenizer_config.json"))) };
  for (const key of ["eos_token", "pad_token", "unk_token", "bos_token"]) {
    const text = tokenText(config[key]);
    if (text === undefined) delete config[key];
    else config[key] = text;
  }
  if (Array.isArray(config.additional_special_tokens)) {
    config.additional_special_tokens = config.additional_special_tokens.map(tokenText).filter((t) => t !== undefined);
  }
  return config;
}

function sameIds(a: number[], b: number[], from: number): boolean {
  for (let i = 0; i < b.length; i++) if (a[from + i] !== b[i]) return false;
  return true;
}

/**
 * The ids the post-processor puts before and after a text, found by encoding a probe with and without
 * special tokens. Truncation has to leave room for exactly these.
 */
function specialTokenFrame(tokenizer: Tokenizer): { prefix: number[]; suffix: number[] } {
  const probe = "a";
  const plain = tokenizer.encode(probe, { add_special_tokens: false }).ids;
  const full = tokenizer.encode(probe).ids;
  for (let start = 0; start + plain.length <= full.length; start++) {
    if (sameIds(full, plain, start)) return { prefix: full.slice(0, start), suffix: full.slice(start + plain.length) };
  }
  throw new Error("The tokenizer's post-processor does not keep the text's tokens together; cannot truncate safely");
}

function checkTextLen(textLen: number, specials: number): void {
  if (!Number.isInteger(textLen) || textLen < Math.max(1, specials)) {
    throw new Error(`Text length must be an integer of at least ${Math.max(1, specials)} (got ${textLen})`);
  }
}

/**
 * Loads a tokenizer from a tokenizer.json file or a model directory (plain, Diffusers layout with
 * `tokenizer/`, or the official Wan layout with `google/umt5-xxl/`). tokenizer_config.json and
 * special_tokens_map.json next to it are read when present.
 */
export async function loadTokenizer(location: string): Promise<PromptTokenizer> {
  const jsonPath = await resolveTokenizerJson(location);
  const tokenizerJson = JSON.parse(await readFile(jsonPath, "utf8")) as Record<string, unknown>;
  const config = await readTokenizerConfig(path.dirname(jsonPath));
  const tokenizer = new Tokenizer(tokenizerJson, config);

  const { prefix, suffix } = specialTokenFrame(tokenizer);
  const specials = prefix.length + suffix.length;
  // umT5 appends EOS only; the last appended id is the one that marks the end of the prompt.
  const eosId = suffix.at(-1) ?? tokenizer.token_to_id(typeof config.eos_token === "string" ? config.eos_token : "</s>");
  if (eosId === undefined) throw new Error(`${jsonPath}: the tokenizer appends no end-of-sequence token`);
  const padToken = typeof config.pad_token === "string" ? config.pad_token : "<pad>";
  const padId = tokenizer.token_to_id(padToken);
  if (padId === undefined) throw new Error(`${jsonPath}: pad token ${JSON.stringify(padToken)} is not in the vocabulary`);
  // A loop, not Math.max(...ids): umT5's 256k ids would overflow the argument limit of a spread call.
  let vocabSize = 0;
  for (const id of tokenizer.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);

  function encodeUnpadded(text: string, textLen: number): UnpaddedPrompt {
    checkTextLen(textLen, specials);
    const body = tokenizer.encode(text, { add_special_tokens: false }).ids.slice(0, textLen - specials);
    const all = [...prefix, ...body, ...suffix];
    return { ids: BigInt64Array.from(all, (id) => BigInt(id)), length: all.length };
  }

  return {
    padId,
    eosId,
    vocabSize,
    source: jsonPath,
    encodeUnpadded,
    encode(text, textLen) {
      const real = encodeUnpadded(text, textLen);
      const ids = new BigInt64Array(textLen).fill(BigInt(padId));
      ids.set(real.ids);
      const mask = new BigInt64Array(textLen);
      mask.fill(1n, 0, real.length);
      return { ids, mask, length: real.length };
    },
    decode(ids) {
      const list = Array.from(ids, (id) => Number(id));
      return list.length === 0 ? "" : tokenizer.decode(list, { skip_special_tokens: true });
    },
  };
}
