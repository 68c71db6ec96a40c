import { describe, expect, it } from "vitest";
import { cleanPrompt } from "../../../lib/engine/text/clean.ts";
import { fixText } from "../../../lib/engine/text/fix-text.ts";
import { unescapeHtml, unescapeHtmlStrict } from "../../../lib/engine/text/html-unescape.ts";
import { fixMojibake } from "../../../lib/engine/text/mojibake.ts";
import { DEFAULT_NEGATIVE_PROMPT } from "../../../lib/engine/text/negative-prompt.ts";

/** Mojibake made the way it happens: UTF-8 bytes decoded as Windows-1252 (latin1 where cp1252 has no glyph). */
function asWindows1252(text: string): string {
  const cp1252 = new TextDecoder("windows-1252");
  return cp1252.decode(new TextEncoder().encode(text));
}

describe("whitespace cleaning (WAN clean='whitespace')", () => {
  it("collapses every whitespace run to one space and strips the ends", () => {
    expect(cleanPrompt("  a   cat\t\n\r\n sits \u00a0 on\u2003the\u3000mat  ")).toBe("a cat sits on the mat");
  });

  it("uses Python's whitespace set, not JavaScript's", () => {
    // U+200B is not whitespace in Python (nor in JS): it survives. U+FEFF is removed by the ftfy step.
    expect(cleanPrompt("a\u200bb")).toBe("a\u200bb");
    expect(cleanPrompt("\ufeffa b\ufeff")).toBe("a b");
    // U+0085 is Python whitespace, but ftfy first reads a stray C1 control as Windows-1252: "…".
    expect(cleanPrompt("wait\u0085 what")).toBe("wait\u2026 what");
  });

  it("returns an empty string for blank input", () => {
    expect(cleanPrompt("")).toBe("");
    expect(cleanPrompt(" \t\n ")).toBe("");
  });
});

describe("HTML entities", () => {
  it("decodes the named entities that matter and numeric references", () => {
    expect(cleanPrompt("Tom &amp; Jerry &lt;3 &gt; &quot;hi&quot; it&#39;s &apos;x&apos;")).toBe(
      `Tom & Jerry <3 > "hi" it's 'x'`,
    );
    expect(cleanPrompt("caf&#233; caf&#xE9; caf&#XE9; smile &#x1F600;")).toBe("café café café smile 😀");
    // &nbsp; becomes U+00A0, which the whitespace step then turns into a plain space.
    expect(cleanPrompt("a&nbsp;&nbsp;b")).toBe("a b");
  });

  it("unescapes twice, and more while the text has no '<' (ftfy's loop)", () => {
    expect(cleanPrompt("&amp;lt;b&amp;gt;")).toBe("<b>");
    expect(cleanPrompt("&amp;amp;amp;lt;")).toBe("<");
    // With a '<' present ftfy leaves entities alone; only Python's two html.unescape passes remain.
    expect(cleanPrompt("<i> &amp;amp;amp;lt;")).toBe("<i> &amp;lt;");
  });

  it("follows Python's html.unescape rules for odd references", () => {
    expect(unescapeHtml("&#128;&#150;")).toBe("\u20ac\u2013"); // 0x80–0x9F read as Windows-1252
    expect(unescapeHtml("[&#0;]")).toBe("[\ufffd]");
    expect(unescapeHtml("[&#xD800;][&#x110000;]")).toBe("[\ufffd][\ufffd]");
    expect(unescapeHtml("[&#1;][&#x7f;][&#xFFFF;]")).toBe("[][][]");
    expect(unescapeHtml("&amp &lt3 &copy 2024")).toBe("& <3 © 2024"); // legacy names without ';'
    expect(unescapeHtml("&ampx &notin")).toBe("&x ¬in"); // longest legacy prefix
    expect(unescapeHtml("&hellip &hellip; &bogus; & alone")).toBe("&hellip … &bogus; & alone");
    // The whole HTML5 table, as Python's html.unescape has it (expected values printed by Python 3).
    expect(unescapeHtml("&NotEqualTilde; &fjlig; &eacute &nbsp; &notin; &Afr;")).toBe("\u2242\u0338 fj é \u00a0 ∉ \u{1d504}");
    expect(unescapeHtml("&#65&#x42;&#X43 &#9999999999;")).toBe("ABC \ufffd");
  });

  it("ftfy's own pass needs ';' but accepts upper-cased Latin names", () => {
    expect(unescapeHtmlStrict("&amp &amp;")).toBe("&amp &");
    expect(unescapeHtmlStrict("P&EACUTE;REZ")).toBe("PÉREZ");
    expect(unescapeHtmlStrict("STRA&SZLIG;E")).toBe("STRASSE");
    expect(unescapeHtmlStrict("&#65;&#x42;")).toBe("AB");
  });
});

describe("ftfy stand-in", () => {
  it("repairs UTF-8 read as Windows-1252 or Latin-1", () => {
    expect(asWindows1252("café")).toBe("cafÃ©");
    expect(cleanPrompt("cafÃ© crÃ¨me")).toBe("café crème");
    expect(cleanPrompt(asWindows1252("a “quoted” word, it’s fine — really…"))).toBe(`a "quoted" word, it's fine — really…`);
    expect(cleanPrompt(asWindows1252("Straße in München, 東京"))).toBe("Straße in München, 東京");
  });

  it("repairs double mojibake", () => {
    const twice = asWindows1252(asWindows1252("naïve"));
    expect(twice).not.toBe(asWindows1252("naïve"));
    expect(cleanPrompt(twice)).toBe("naïve");
  });

  it("leaves genuine accented and non-Latin text alone", () => {
    for (const text of ["naïve café", "Ångström über Ærø", "Ã as a letter", "色调艳丽 and café"]) {
      expect(fixMojibake(text)).toBe(text);
    }
  });

  it("repairs line by line, as ftfy does", () => {
    expect(fixMojibake("cafÃ©\n東京 café")).toBe("café\n東京 café");
  });

  it("normalises widths, ligatures, quotes, controls and composition like ftfy", () => {
    expect(fixText("ＬＯＵＤ　ＮＯＩＳＥＳ")).toBe("LOUD NOISES");
    expect(fixText("ﬂuﬃest")).toBe("fluffiest");
    expect(fixText("\u201chere\u2019s a test\u201d")).toBe(`"here's a test"`);
    expect(fixText("a\u0000b\u0007c\u001b[36;44md\u001b[0m\u007f")).toBe("abcd");
    expect(fixText("e\u0301")).toBe("\u00e9"); // NFC
    expect(fixText("x\ud800y")).toBe("x\ufffdy"); // lone surrogate
    expect(fixText("a\r\nb\rc")).toBe("a\nb\nc");
  });

  it("turns the fullwidth commas of the Chinese default negative prompt into ASCII commas", () => {
    const cleaned = cleanPrompt(DEFAULT_NEGATIVE_PROMPT);
    expect(cleaned).toBe(DEFAULT_NEGATIVE_PROMPT.replaceAll("，", ","));
    expect([...cleaned].length).toBe(137);
  });
});

describe("idempotence", () => {
  const inputs = [
    "A cat   walks\non the beach, golden hour &amp; slow motion",
    "cafÃ© &lt;3",
    asWindows1252("“smart” quotes — and dashes"),
    DEFAULT_NEGATIVE_PROMPT,
    "ＦＵＬＬ width and ﬁ ligatures\t\t",
    "",
  ];
  it("cleaning a cleaned prompt changes nothing", () => {
    for (const input of inputs) {
      const once = cleanPrompt(input);
      expect(cleanPrompt(once)).toBe(once);
    }
  });
});
