/**
 * HTML character-reference decoding for prompt cleaning (reference §4.2: WAN and Diffusers run ftfy, then
 * Python's `html.unescape` twice). Two flavours, because the official pipeline uses both:
 *
 * - {@link unescapeHtml} follows Python's `html.unescape`: numeric references with its replacement rules
 *   (NUL → U+FFFD, 0x80–0x9F read as Windows-1252, surrogates/out-of-range → U+FFFD, non-characters and
 *   C0/C1 controls dropped), named references with or without ";" for the legacy HTML 4 names, and
 *   Python's longest-prefix rule for legacy names run into following letters ("&ampx" → "&x").
 * - {@link unescapeHtmlStrict} follows ftfy's `unescape_html`: only references that end in ";", plus
 *   upper-cased Latin names ("&EACUTE;" → "É") that databases sometimes produce.
 *
 * Difference from Python: Python knows all 2,231 HTML5 names; this table holds the Latin-1 block, the
 * markup characters and the typographic names that show up in pasted prompts. Any other name is left as
 * written (Python would decode it). No dependency is used on purpose: the set that matters is small.
 */

/** HTML 4 names of U+00A0…U+00FF, in code-point order. HTML5 also accepts these without ";". */
const LATIN1_NAMES = [
  "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf", "laquo",
  "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot",
  "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",
  "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute",
  "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde", "Ouml", "times", "Oslash",
  "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN", "szlig", "agrave", "aacute", "acirc", "atilde",
  "auml", "aring", "aelig", "ccedil", "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc",
  "iuml", "eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave",
  "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
];

/** Legacy names outside the Latin-1 block that HTML5 (and Python) also accept without ";". */
const LEGACY_OTHER: Record<string, string> = {
  amp: "&", lt: "<", gt: ">", quot: '"', AMP: "&", LT: "<", GT: ">", QUOT: '"', COPY: "\u00a9", REG: "\u00ae",
};

/** Names that are only recognised with a trailing ";" (HTML5). */
const SEMICOLON_ONLY: Record<string, string> = {
  apos: "'", hellip: "\u2026", mdash: "\u2014", ndash: "\u2013", lsquo: "\u2018", rsquo: "\u2019",
  sbquo: "\u201a", ldquo: "\u201c", rdquo: "\u201d", bdquo: "\u201e", lsaquo: "\u2039", rsaquo: "\u203a",
  laquo: "\u00ab", raquo: "\u00bb", bull: "\u2022", middot: "\u00b7", prime: "\u2032", Prime: "\u2033",
  dagger: "\u2020", Dagger: "\u2021", permil: "\u2030", trade: "\u2122", TRADE: "\u2122", euro: "\u20ac",
  minus: "\u2212", times: "\u00d7", divide: "\u00f7", le: "\u2264", ge: "\u2265", ne: "\u2260",
  asymp: "\u2248", infin: "\u221e", larr: "\u2190", rarr: "\u2192", uarr: "\u2191", darr: "\u2193",
  harr: "\u2194", hearts: "\u2665", star: "\u2606", starf: "\u2605", check: "\u2713", ensp: "\u2002",
  emsp: "\u2003", thinsp: "\u2009", zwnj: "\u200c", zwj: "\u200d", lrm: "\u200e", rlm: "\u200f",
  OElig: "\u0152", oelig: "\u0153", Scaron: "\u0160", scaron: "\u0161", Yuml: "\u0178", fnof: "\u0192",
  circ: "\u02c6", tilde: "\u02dc", NewLine: "\n", Tab: "\t", nbsp: "\u00a0", colon: ":", comma: ",",
  period: ".", excl: "!", quest: "?", num: "#", dollar: "$", percnt: "%", lpar: "(", rpar: ")",
  ast: "*", plus: "+", sol: "/", bsol: "\\", semi: ";", equals: "=", commat: "@", lsqb: "[", rsqb: "]",
  lowbar: "_", grave: "`", lcub: "{", rcub: "}", verbar: "|", vert: "|",
};

/** name (without "&") → text, for names that may appear without ";". */
const LEGACY = new Map<string, string>([
  ...LATIN1_NAMES.map((name, i): [string, string] => [name, String.fromCharCode(0xa0 + i)]),
  ...Object.entries(LEGACY_OTHER),
]);

/** name followed by ";" → text: every legacy name plus the HTML5-only ones. */
const WITH_SEMICOLON = new Map<string, string>([
  ...[...LEGACY].map(([name, text]): [string, string] => [`${name};`, text]),
  ...Object.entries(SEMICOLON_ONLY).map(([name, text]): [string, string] => [`${name};`, text]),
]);

/** The longest legacy name, to bound Python's prefix search. */
const LONGEST_LEGACY = Math.max(...[...LEGACY.keys()].map((n) => n.length));

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

/** Python's `html.unescape`, with the reduced name table described at the top of this file. */
export function unescapeHtml(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(PYTHON_CHARREF, (whole, ref: string) => {
    if (ref[0] === "#") return decodeCodePoint(parseNumeric(ref.replace(/;$/, "")));
    const exact = ref.endsWith(";") ? WITH_SEMICOLON.get(ref) : LEGACY.get(ref);
    if (exact !== undefined) return exact;
    // Python tries ever shorter prefixes (at least two characters) against names valid without ";".
    for (let x = Math.min(ref.length - 1, LONGEST_LEGACY); x > 1; x--) {
      const legacy = LEGACY.get(ref.slice(0, x));
      if (legacy !== undefined) return legacy + ref.slice(x);
    }
    return whole;
  });
}

// ftfy: r"&#?[0-9A-Za-z]{1,24};"
const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy's `unescape_html`: references ending in ";" only, and upper-cased lower-case names. */
export function unescapeHtmlStrict(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(FTFY_ENTITY, (entity) => {
    const name = entity.slice(1);
    const known = WITH_SEMICOLON.get(name);
    if (known !== undefined) return known;
    if (name[0] === "#") {
      // ftfy keeps the reference when Python would only decode part of it (the ";" would survive).
      const decoded = unescapeHtml(entity);
      return decoded.includes(";") ? entity : decoded;
    }
    // "&EACUTE;" → "É": ftfy accepts upper-cased forms of all-lower-case names that are not names themselves.
    const lower = name.toLowerCase();
    if (name === name.toUpperCase() && lower !== name) {
      const fromLower = WITH_SEMICOLON.get(lower);
      if (fromLower !== undefined) return fromLower.toUpperCase();
    }
    return entity;
  });
}
