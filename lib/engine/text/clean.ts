/**
 * Prompt cleaning exactly in the order of WAN's `clean='whitespace'` (wan/modules/tokenizers.py) and
 * Diffusers' `prompt_clean` (docs/model-notes.md#prompt-handling):
 *
 *   ftfy.fix_text → html.unescape → html.unescape → strip → collapse every whitespace run to " " → strip
 *
 * The cleaned text is what the tokenizer sees, and what the embedding cache is keyed on.
 * ftfy is replaced by fix-text.ts (see there for what differs); `html.unescape` by html-unescape.ts.
 */
import { fixText } from "./fix-text.ts";
import { unescapeHtml } from "./html-unescape.ts";

/**
 * Python's `\s` / `str.strip()` whitespace, written out. JavaScript's `\s` and `trim()` differ from
 * Python's: they include U+FEFF (Python does not) and omit U+0085 and U+001C–U+001F (Python includes
 * them). Spelling the set out keeps the result identical to the official code.
 */
const PY_WHITESPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const WHITESPACE_RUN = new RegExp(`[${PY_WHITESPACE}]+`, "g");
const EDGE_WHITESPACE = new RegExp(`^[${PY_WHITESPACE}]+|[${PY_WHITESPACE}]+$`, "g");

function pyStrip(text: string): string {
  return text.replace(EDGE_WHITESPACE, "");
}

/** WAN/Diffusers prompt cleaning: repair the text, decode HTML twice, normalise whitespace. */
export function cleanPrompt(text: string): string {
  const basic = pyStrip(unescapeHtml(unescapeHtml(fixText(text))));
  return pyStrip(basic.replace(WHITESPACE_RUN, " "));
}
