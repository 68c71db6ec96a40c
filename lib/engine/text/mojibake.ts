/**
 * Undoing the commonest mojibake: UTF-8 bytes that some program decoded as Latin-1 or Windows-1252
 * ("cafÃ©" for "café", "â€œquotedâ€\u009d" for curly quotes). This is the part of ftfy's `fix_encoding`
 * that matters for prompts pasted from web pages and spreadsheets (docs/model-notes.md#prompt-handling: WAN runs ftfy on
 * every prompt).
 *
 * Rule: a line is re-decoded only when every character maps back to a single byte (Latin-1, or ftfy's
 * "sloppy" Windows-1252 in which the five undefined bytes stand for themselves) *and* those bytes are
 * strictly valid UTF-8. Genuine Latin-1 text almost never forms valid multi-byte UTF-8, so the test is
 * safe; it repeats until nothing changes, which also undoes double mojibake.
 *
 * Differences from ftfy: ftfy also tries Windows-1250/1251/1253/1254/1257, ISO-8859-2, MacRoman and
 * CP437; it weighs a "badness" heuristic before fixing; it repairs lines that mix mojibake with correct
 * non-Latin text (`decode_inconsistent_utf8`), bytes lost to "?" or U+FFFD (`replace_lossy_sequences`),
 * non-breaking spaces turned into spaces (`restore_byte_a0`) and Java/CESU-8 "UTF-8 variants". None of
 * those are done here: such text passes through unchanged.
 */
import { CP1252_HIGH } from "./html-unescape.ts";

/** Windows-1252 character → its byte, for the 27 characters the code page puts at 0x80–0x9F. */
const CP1252_BYTE = new Map<number, number>(
  CP1252_HIGH.map((ch, i): [number, number] => [ch.codePointAt(0)!, 0x80 + i]).filter(
    ([cp, byte]) => cp !== byte, // undefined bytes map to themselves and are covered by the Latin-1 range
  ),
);

/** The single byte a character came from, or -1 when it cannot have come from a one-byte code page. */
function byteOf(cp: number): number {
  if (cp <= 0xff) return cp;
  return CP1252_BYTE.get(cp) ?? -1;
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** One round of re-decoding; returns the input when it does not look like UTF-8 read as one byte a character. */
function redecodeOnce(line: string): string {
  const bytes = new Uint8Array(line.length);
  let high = false;
  for (let i = 0; i < line.length; i++) {
    const b = byteOf(line.charCodeAt(i));
    if (b < 0) return line;
    if (b >= 0x80) high = true;
    bytes[i] = b;
  }
  if (!high) return line;
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return line;
  }
}

/** Repairs UTF-8-as-Latin-1/Windows-1252 mojibake line by line; other text is returned unchanged. */
export function fixMojibake(text: string): string {
  if (!/\P{ASCII}/u.test(text)) return text;
  return text
    .split(/(?<=\n)/)
    .map((line) => {
      // Each successful round shortens the line, so this ends; the bound only guards against surprises.
      for (let round = 0; round < 8; round++) {
        const next = redecodeOnce(line);
        if (next === line) break;
        line = next;
      }
      return line;
    })
    .join("");
}

/**
 * ftfy's `fix_c1_controls`: C1 control characters left in text (U+0080–U+009F) are almost always
 * Windows-1252 bytes decoded as Latin-1, e.g. U+0085 for "…" and U+0093/U+0094 for curly quotes.
 */
export function decodeC1Controls(text: string): string {
  return text.replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]);
}
