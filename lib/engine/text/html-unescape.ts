/**
 * HTML character-reference decoding for prompt cleaning: WAN runs ftfy, then Python's `html.unescape`
 * twice (official wan/modules/tokenizers.py, `basic_clean`; docs/model-notes.md "Prompt handling"). Two
 * flavours, because the official pipeline uses both:
 *
 * - {@link unescapeHtml} follows Python's `html.unescape`: numeric references with its replacement rules
 *   (NUL → U+FFFD, 0x80–0x9F read as Windows-1252, surrogates/out-of-range → U+FFFD, non-characters and
 *   C0/C1 controls dropped), and named references from the full HTML5 table (the `entities` package),
 *   with or without ";" for the legacy names and the longest-prefix rule for legacy names run into
 *   following letters ("&ampx" → "&x"), as Python's table does.
 * - {@link unescapeHtmlStrict} follows ftfy's `unescape_html`: only references that end in ";", plus
 *   upper-cased Latin names ("&EACUTE;" → "É") that databases sometimes produce.
 *
 * Numeric references are decoded here rather than by `entities`, because Python drops the control and
 * non-character code points that the HTML standard keeps.
 */
import { decodeHTML, decodeHTMLStrict } from "entities";

/** Windows-1252 meanings of 0x80–0x9F, used by Python for "&#128;"…"&#159;" (undefined bytes stay as-is). */
export const CP1252_HIGH: readonly string[] = [
  "\u20ac", "\u0081", "\u201a", "\u0192", "\u201e", "\u2026", "\u2020", "\u2021", "\u02c6", "\u2030",
  "\u0160", "\u2039", "\u0152", "\u008d", "\u017d", "\u008f", "\u0090", "\u2018", "\u2019", "\u201c",
  "\u201d", "\u2022", "\u2013", "\u2014", "\u02dc", "\u2122", "\u0161", "\u203a", "\u0153", "\u009d",
  "\u017e", "\u0178",
];

/** Python's `_invalid_codepoints`: references to these decode to nothing. */
function isInvalidCodePoint(cp: number): boolean {
  return (
    (cp >= 0x1 && cp <= 0x8) ||
    cp === 0xb ||
    (cp >= 0xe && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe // U+xFFFE and U+xFFFF in every plane
  );
}

/** Decodes a numeric reference's code point the way Python's `html.unescape` does. */
function decodeCodePoint(cp: number): string {
  if (cp === 0) return "\ufffd";
  if (cp === 0x0d) return "\r";
  if (cp >= 0x80 && cp <= 0x9f) return CP1252_HIGH[cp - 0x80];
  if (!Number.isFinite(cp) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return "\ufffd";
  if (isInvalidCodePoint(cp)) return "";
  return String.fromCodePoint(cp);
}

function parseNumeric(body: string): number {
  // body is "#123" or "#x1F" (";" already removed). Huge values only need to compare above 0x10FFFF.
  return body[1] === "x" || body[1] === "X" ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
}

// Python: r'&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)'
const PYTHON_CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;

/** Python's `html.unescape`. */
export function unescapeHtml(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(PYTHON_CHARREF, (whole, ref: string) =>
    ref[0] === "#" ? decodeCodePoint(parseNumeric(ref.replace(/;$/, ""))) : decodeHTML(whole),
  );
}

// ftfy: r"&#?[0-9A-Za-z]{1,24};"
const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy's `unescape_html`: references ending in ";" only, and upper-cased lower-case names. */
export function unescapeHtmlStrict(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(FTFY_ENTITY, (entity) => {
    const name = entity.slice(1);
    if (name[0] === "#") {
      // ftfy keeps the reference when Python would only decode part of it (the ";" would survive).
      const decoded = unescapeHtml(entity);
      return decoded.includes(";") ? entity : decoded;
    }
    const known = decodeHTMLStrict(entity);
    if (known !== entity) return known;
    // "&EACUTE;" → "É": ftfy accepts upper-cased forms of all-lower-case names that are not names themselves.
    const lower = entity.toLowerCase();
    if (name === name.toUpperCase() && lower !== entity) {
      const fromLower = decodeHTMLStrict(lower);
      if (fromLower !== lower) return fromLower.toUpperCase();
    }
    return entity;
  });
}
