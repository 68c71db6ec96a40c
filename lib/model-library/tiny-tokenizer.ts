/**
 * A tiny tokenizer of the same kind as google/umt5-xxl's, for the tiny test models (the wan-tiny text
 * encoder has a 128-row vocabulary; tests/fixtures/wan-tiny/text_encoder/config.json). It has every
 * component the real `tokenizer.json` has (docs/model-notes.md#prompt-handling):
 *
 * - a Unigram model of pieces with log-probability scores, `<pad>` = 0, `</s>` = 1, `<unk>` = 2;
 * - a normalizer: NFKC, whitespace runs → one space, strip. The real one is SentencePiece's precompiled
 *   `nmt_nfkc` charsmap (also NFKC-based, also removing extra whitespace), which cannot be written small;
 * - a Metaspace pre-tokenizer ("▁", prepend always) and Metaspace decoder;
 * - a TemplateProcessing post-processor that appends `</s>`.
 *
 * The pieces are "▁", letters, digits, punctuation and frequent English word pieces, so any English prompt
 * tokenizes into real pieces; other scripts become `<unk>`. Scores are the natural logs of fixed pseudo-counts
 * (roughly English letter and word frequencies) normalised over the chosen pieces, so longer pieces win
 * over spelling a word out, as in a trained Unigram model. Ids after the specials are ordered by score,
 * as in a SentencePiece vocabulary. Output is a pure function of `vocabSize`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

const SPECIALS = ["<pad>", "</s>", "<unk>"] as const;
const UNK_ID = 2;
const EOS = "</s>";

/** Relative letter frequency in English text (per 1000 letters). */
const LETTER_COUNTS: Record<string, number> = {
  e: 127, t: 91, a: 82, o: 75, i: 70, n: 67, s: 63, h: 61, r: 60, d: 43, l: 40, c: 28, u: 28, m: 24, w: 24,
  f: 22, g: 20, y: 20, p: 19, b: 15, v: 9.8, k: 7.7, j: 1.5, x: 1.5, q: 0.95, z: 0.74,
};

/**
 * Candidate pieces in the order they are admitted to the vocabulary, with pseudo-counts on the letter
 * scale. The word-start marker and the lower-case letters come first so that the smallest vocabulary
 * still spells any lower-case English; then digits, punctuation, capitals and word pieces.
 */
function candidatePieces(): [string, number][] {
  const pieces: [string, number][] = [["\u2581", 180]];
  for (const [letter, count] of Object.entries(LETTER_COUNTS)) pieces.push([letter, count]);
  for (let d = 0; d <= 9; d++) pieces.push([String(d), 1]);
  const punctuation: [string, number][] = [
    [",", 10], [".", 9], ["'", 2], ["-", 2], ['"', 1], ["!", 0.5], ["?", 0.5], [":", 0.5], [";", 0.3],
    ["(", 0.3], [")", 0.3], ["/", 0.2], ["&", 0.1],
  ];
  pieces.push(...punctuation);
  for (const [letter, count] of Object.entries(LETTER_COUNTS)) pieces.push([letter.toUpperCase(), count / 8]);
  const wordPieces: [string, number][] = [
    ["\u2581the", 50], ["\u2581a", 30], ["\u2581and", 28], ["\u2581of", 25], ["\u2581in", 22], ["\u2581to", 20],
    ["\u2581on", 12], ["\u2581with", 12], ["\u2581is", 10], ["\u2581at", 8], ["\u2581for", 8], ["\u2581by", 6],
    ["\u2581as", 6], ["\u2581an", 5], ["ing", 20], ["ed", 18], ["er", 16], ["th", 15], ["es", 14], ["he", 14],
    ["in", 14], ["an", 13], ["on", 12], ["en", 11], ["re", 11], ["st", 10], ["ar", 9], ["or", 9], ["al", 8],
    ["le", 8], ["ly", 8], ["\u2581s", 8], ["\u2581c", 6], ["\u2581b", 5], ["\u2581light", 3], ["\u2581camera", 3],
    ["\u2581cat", 3], ["\u2581dog", 3], ["\u2581man", 3], ["\u2581woman", 3], ["\u2581slow", 2], ["\u2581city", 2],
    ["\u2581sky", 2], ["\u2581water", 2], ["\u2581video", 2], ["\u2581red", 2], ["\u2581blue", 2],
    ["\u2581green", 2], ["\u2581white", 2], ["\u2581black", 2], ["\u2581street", 2], ["\u2581night", 2],
    ["\u2581sun", 2], ["\u2581tree", 2], ["\u2581car", 2], ["\u2581walk", 2], ["\u2581run", 2], ["\u2581up", 2],
    ["\u2581view", 2], ["\u2581scene", 2], ["\u2581style", 2], ["\u2581high", 2], ["\u2581quality", 2],
    ["ion", 6], ["ous", 3], ["\u2581p", 5], ["\u2581m", 5], ["\u2581w", 5], ["\u2581f", 5], ["\u2581d", 4],
    ["\u2581h", 4], ["\u2581t", 4], ["\u2581r", 3], ["\u2581l", 3], ["\u2581g", 3], ["\u2581o", 3],
  ];
  pieces.push(...wordPieces);
  return pieces;
}

const MIN_VOCAB = SPECIALS.length + 1 + Object.keys(LETTER_COUNTS).length;
/** The largest vocabulary this generator can fill. */
export const TINY_TOKENIZER_MAX_VOCAB = SPECIALS.length + candidatePieces().length;

/** [piece, score] in id order: the specials (score 0, as in converted T5 tokenizers), then by score. */
function unigramVocab(vocabSize: number): [string, number][] {
  if (!Number.isInteger(vocabSize) || vocabSize < MIN_VOCAB || vocabSize > TINY_TOKENIZER_MAX_VOCAB) {
    throw new Error(`Tiny tokenizer vocabulary must be an integer in ${MIN_VOCAB}…${TINY_TOKENIZER_MAX_VOCAB} (got ${vocabSize})`);
  }
  const chosen = candidatePieces().slice(0, vocabSize - SPECIALS.length);
  const total = chosen.reduce((sum, [, count]) => sum + count, 0);
  // Rounded so that the written file is byte-identical on every platform.
  const scored = chosen.map(([piece, count], order) => ({ piece, order, score: Number(Math.log(count / total).toFixed(6)) }));
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  return [...SPECIALS.map((s): [string, number] => [s, 0]), ...scored.map((p): [string, number] => [p.piece, p.score])];
}

function addedToken(content: string, id: number) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** The tokenizer.json document (Hugging Face `tokenizers` serialization format). */
export function tinyTokenizerJson(vocabSize: number): Record<string, unknown> {
  const eosId = SPECIALS.indexOf(EOS);
  const metaspace = { type: "Metaspace", replacement: "\u2581", prepend_scheme: "always", split: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((s, id) => addedToken(s, id)),
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "NFKC" },
        { type: "Replace", pattern: { Regex: "\\s+" }, content: " " },
        { type: "Strip", strip_left: true, strip_right: true },
      ],
    },
    pre_tokenizer: metaspace,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: EOS, type_id: 0 } }],
      pair: [
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: EOS, type_id: 0 } },
        { Sequence: { id: "B", type_id: 0 } },
        { SpecialToken: { id: EOS, type_id: 0 } },
      ],
      special_tokens: { [EOS]: { id: EOS, ids: [eosId], tokens: [EOS] } },
    },
    decoder: metaspace,
    model: { type: "Unigram", unk_id: UNK_ID, vocab: unigramVocab(vocabSize), byte_fallback: false },
  };
}

/** tokenizer_config.json as Transformers writes it for a T5 tokenizer without extra ids. */
function tokenizerConfig(): Record<string, unknown> {
  return {
    added_tokens_decoder: Object.fromEntries(
      SPECIALS.map((s, id) => {
        const { id: _id, ...rest } = addedToken(s, id);
        return [String(id), rest];
      }),
    ),
    additional_special_tokens: [],
    // Decoding is for showing prompts back; T5-style punctuation clean-up would alter them.
    clean_up_tokenization_spaces: false,
    eos_token: EOS,
    extra_ids: 0,
    model_max_length: 512,
    pad_token: "<pad>",
    tokenizer_class: "T5Tokenizer",
    unk_token: "<unk>",
  };
}

function specialTokensMap(): Record<string, unknown> {
  return { eos_token: EOS, pad_token: "<pad>", unk_token: "<unk>" };
}

export type TinyTokenizerFiles = { tokenizerJson: string; tokenizerConfig: string; specialTokensMap: string };

/** Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json into `dir` (created if needed). */
export async function writeTinyTokenizer(dir: string, options: { vocabSize: number }): Promise<TinyTokenizerFiles> {
  const files: TinyTokenizerFiles = {
    tokenizerJson: path.join(dir, "tokenizer.json"),
    tokenizerConfig: path.join(dir, "tokenizer_config.json"),
    specialTokensMap: path.join(dir, "special_tokens_map.json"),
  };
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const document = tinyTokenizerJson(options.vocabSize);
  await mkdir(dir, { recursive: true });
  await writeFile(files.tokenizerJson, json(document));
  await writeFile(files.tokenizerConfig, json(tokenizerConfig()));
  await writeFile(files.specialTokensMap, json(specialTokensMap()));
  return files;
}
