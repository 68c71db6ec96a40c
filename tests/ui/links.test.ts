import { describe, expect, it } from "vitest";
import { CONTINUE_FORM_ID, downloadName, jobHref, reuseHref } from "../../lib/ui/links.ts";

describe("links and file names", () => {
  it("sends reuse to the page of the job's kind", () => {
    const alone = { continuesJobId: null, chain: null };
    expect(reuseHref({ id: "job-12345678", kind: "t2v", ...alone })).toBe("/?from=job-12345678");
    expect(reuseHref({ id: "job-12345678", kind: "i2v", ...alone })).toBe("/image?from=job-12345678");
    expect(reuseHref({ id: "job-12345678", kind: "v2v", ...alone })).toBe("/image?mode=video&from=job-12345678");
    expect(jobHref("job-12345678")).toBe("/jobs/job-12345678");
  });

  it("sends reuse of a continuation to its previous part's Continue form, and nowhere once that part is gone", () => {
    const chain = { rootId: "job-1", part: 2, parts: 2, nextIds: [], videoUrl: null };
    // Stored as i2v, but there is no image to reuse: only continuing part 1 again reproduces it.
    expect(reuseHref({ id: "job-2", kind: "i2v", continuesJobId: "job-1", chain })).toBe(`/jobs/job-1?from=job-2#${CONTINUE_FORM_ID}`);
    expect(reuseHref({ id: "job-2", kind: "i2v", continuesJobId: null, chain })).toBeNull();
    // The first part of a chain is reused like any clip of its kind.
    expect(reuseHref({ id: "job-1", kind: "t2v", continuesJobId: null, chain: { ...chain, part: 1, nextIds: ["job-2"] } })).toBe("/?from=job-1");
  });

  it("names downloads after the prompt and seed", () => {
    expect(downloadName({ id: "abcdef0123", prompt: "A red fox, in the snow!", seed: 42 })).toBe("wan-a-red-fox-in-the-snow-42.mp4");
    expect(downloadName({ id: "abcdef0123", prompt: "日本語", seed: null })).toBe("wan-abcdef01.mp4");
    expect(downloadName({ id: "abcdef0123", prompt: "x".repeat(100), seed: 1 })).toBe(`wan-${"x".repeat(48)}-1.mp4`);
  });
});
