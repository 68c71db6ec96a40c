import { describe, expect, it } from "vitest";
import { downloadName, jobHref, reuseHref } from "../../lib/ui/links.ts";

describe("links and file names", () => {
  it("sends reuse to the page of the job's kind", () => {
    expect(reuseHref({ id: "job-12345678", kind: "t2v" })).toBe("/?from=job-12345678");
    expect(reuseHref({ id: "job-12345678", kind: "i2v" })).toBe("/image?from=job-12345678");
    expect(reuseHref({ id: "job-12345678", kind: "v2v" })).toBe("/image?mode=video&from=job-12345678");
    expect(jobHref("job-12345678")).toBe("/jobs/job-12345678");
  });

  it("names downloads after the prompt and seed", () => {
    expect(downloadName({ id: "abcdef0123", prompt: "A red fox, in the snow!", seed: 42 })).toBe("wan-a-red-fox-in-the-snow-42.mp4");
    expect(downloadName({ id: "abcdef0123", prompt: "日本語", seed: null })).toBe("wan-abcdef01.mp4");
    expect(downloadName({ id: "abcdef0123", prompt: "x".repeat(100), seed: 1 })).toBe(`wan-${"x".repeat(48)}-1.mp4`);
  });
});
