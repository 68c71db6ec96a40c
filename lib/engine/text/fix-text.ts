/**
 * A TypeScript stand-in for `ftfy.fix_text` with its default settings (ftfy 6.x), which WAN and Diffusers
 * run on every prompt before tokenising (docs/model-notes.md#prompt-handling). It keeps ftfy's order of steps, its
 * line-by-line processing and its repeat-until-stable loop:
 *
 *   unescape HTML (only if the text has no "<") → fix mojibake → C1 controls as Windows-1252 →
 *   split Latin ligatures → fullwidth/halfwidth forms to normal width → straighten curly quotes →
 *   unify line breaks → repair lone surrogates → drop ANSI terminal escapes → drop control characters →
 *   Unicode NFC.
 *
 * What differs from ftfy is confined to two steps and documented where they live: the HTML name table
 * (html-unescape.ts) and the mojibake repair, which handles only UTF-8 read as Latin-1/Windows-1252
 * (mojibake.ts). Everything else follows ftfy's tables exactly. A practical consequence for Chinese
 * prompts, same as with ftfy: fullwidth punctuation such as "，" (U+FF0C) becomes its ASCII form ",".
 */
import { unescapeHtmlStrict } from "./html-unescape.ts";
import { decodeC1Controls, fixMojibake } from "./mojibake.ts";

/** ftfy's LIGATURES table: Latin typographic ligatures and legacy digraphs, split into their letters. */
const LATIN_LIGATURES: Record<string, string> = {
  "\u0132": "IJ", "\u0133": "ij", "\u0149": "\u02bcn", "\u01f1": "DZ", "\u01f2": "Dz", "\u01f3": "dz",
  "\u01c4": "D\u017d", "\u01c5": "D\u017e", "\u01c6": "d\u017e", "\u01c7": "LJ", "\u01c8": "Lj",
  "\u01c9": "lj", "\u01ca": "NJ", "\u01cb": "Nj", "\u01cc": "nj", "\ufb00": "ff", "\ufb01": "fi",
  "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "\u017ft", "\ufb06": "st",
};
const LATIN_LIGATURE_RE = new RegExp(`[${Object.keys(LATIN_LIGATURES).join("")}]`, "g");

/**
 * ftfy's WIDTH_MAP: U+3000 ideographic space → " ", and every character of the Halfwidth and Fullwidth
 * Forms block (U+FF01–U+FFEF) that NFKC changes → its NFKC form. Built the same way ftfy builds it.
 */
const WIDTH_MAP = new Map<string, string>([["\u3000", " "]]);
for (let cp = 0xff01; cp < 0xfff0; cp++) {
  const ch = String.fromCharCode(cp);
  const alt = ch.normalize("NFKC");
  if (alt !== ch) WIDTH_MAP.set(ch, alt);
}
const WIDTH_RE = /[\u3000\uff01-\uffef]/g;

function fixLatinLigatures(text: string): string {
  return text.replace(LATIN_LIGATURE_RE, (c) => LATIN_LIGATURES[c]);
}

function fixCharacterWidth(text: string): string {
  return text.replace(WIDTH_RE, (c) => WIDTH_MAP.get(c) ?? c);
}

/** ftfy: ʼ and ‘ ’ ‚ ‛ → ', and “ ” „ ‟ → ". */
function uncurlQuotes(text: string): string {
  return text.replace(/[\u201c-\u201f]/g, '"').replace(/[\u02bc\u2018-\u201b]/g, "'");
}

/** ftfy: CRLF, CR, U+2028, U+2029 and U+0085 all become "\n". */
function fixLineBreaks(text: string): string {
  return text.replace(/\r\n|[\r\u2028\u2029\u0085]/g, "\n");
}

/** ftfy's fix_surrogates: JS already pairs valid surrogates, so only lone halves remain to replace. */
function fixSurrogates(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/** ftfy's ANSI_RE: colour and cursor escapes such as "\x1b[36;44m". */
function removeTerminalEscapes(text: string): string {
  // eslint-disable-next-line no-control-regex -- ESC is the character being matched
  return text.replace(/\x1b\[[\d;]*[a-zA-Z]/g, "");
}

/**
 * ftfy's CONTROL_CHARS: C0 controls except tab, LF, FF and CR; DEL; deprecated Arabic format characters;
 * interlinear annotation marks; the object replacement character; the byte-order mark. C1 controls,
 * joiners and bidi marks are kept (ftfy keeps them too).
 */
function removeControlChars(text: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is this function's job
  return text.replace(/[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g, "");
}

/** One pass of ftfy's fixers over a single line. */
function fixLineOnce(line: string, unescapeHtml: boolean): string {
  let text = unescapeHtml ? unescapeHtmlStrict(line) : line;
  text = fixMojibake(text);
  text = decodeC1Controls(text);
  text = fixLatinLigatures(text);
  text = fixCharacterWidth(text);
  text = uncurlQuotes(text);
  text = fixLineBreaks(text);
  text = fixSurrogates(text);
  text = removeTerminalEscapes(text);
  text = removeControlChars(text);
  return text.normalize("NFC");
}

/** ftfy.fix_text with default settings, within the limits described at the top of this file. */
export function fixText(text: string): string {
  // ftfy decides per line whether HTML may be unescaped, and once a line contains "<" it stops
  // unescaping for the rest of the text (it replaces its config for the following lines too).
  let unescapeHtml = true;
  const out: string[] = [];
  for (const line of text.split(/(?<=\n)/)) {
    if (line.includes("<")) unescapeHtml = false;
    let fixed = line;
    for (let round = 0; round < 16; round++) {
      const next = fixLineOnce(fixed, unescapeHtml);
      if (next === fixed) break;
      fixed = next;
    }
    out.push(fixed);
  }
  return out.join("");
}
