/**
 * The studio's batch choice, pure: the form's values with "variations" and "one prompt per line" become
 * POST /api/jobs (one video) or POST /api/batches (several) and are checked by the same batch rules as
 * the API; the gallery gathers a batch's jobs into one group in batch order. Also checked against the
 * server's own schema, so the form never sends what the API refuses.
 */
import { describe, expect, it } from "vitest";
import { createBatchRequestSchema } from "../../lib/jobs/schemas.ts";
import { BATCH_LIMITS } from "../../lib/schemas/batch.ts";
import type { JobView, ModelView } from "../../lib/ui/api-types.ts";
import { batchStatusLine, batchTitle, galleryItems } from "../../lib/ui/gallery-groups.ts";
import { batchSummary, defaultValues, formFieldFor, validateSubmission } from "../../lib/ui/generation-form.ts";
import { DEFAULT_NEGATIVE_PROMPT } from "../../lib/engine/text/negative-prompt.ts";
import { TINY_DEFAULTS } from "../../models/manifest.ts";

const tiny: ModelView = {
  name: "wan-tiny",
  variant: "t2v",
  tiny: true,
  defaults: TINY_DEFAULTS,
  defaultNegativePrompt: DEFAULT_NEGATIVE_PROMPT,
  imageToVideo: "first-frame",
  default: true,
  precision: "fp32",
  sizeBytes: 0,
  source: "test",
  installedAt: "2026-01-01T00:00:00.000Z",
};

const submit = (prompt: string, variations: string, perLine: boolean, seed = "") =>
  validateSubmission({ ...defaultValues(tiny), prompt, seed }, "t2v", DEFAULT_NEGATIVE_PROMPT, {}, { variations, perLine });

describe("the form's batch choice", () => {
  it("one video goes to POST /api/jobs, as before", () => {
    const r = submit("a fox", "1", false);
    expect(r).toMatchObject({ ok: true, endpoint: "/api/jobs", videos: 1 });
    // One line in per-line mode is one video too.
    expect(submit("  a fox \n\n", "1", true)).toMatchObject({ ok: true, endpoint: "/api/jobs", body: { prompt: "a fox" } });
  });

  it("variations and prompt lines go to POST /api/batches, in a body the API's schema accepts", () => {
    const seeds = submit("a fox", "4", false, "7");
    expect(seeds).toMatchObject({ ok: true, endpoint: "/api/batches", videos: 4, body: { prompt: "a fox", count: 4, seed: 7 } });
    const lines = submit("a fox\n  \n a cat \nan owl", "2", true);
    expect(lines).toMatchObject({ ok: true, endpoint: "/api/batches", videos: 6, body: { prompts: ["a fox", "a cat", "an owl"], count: 2 } });
    for (const r of [seeds, lines]) {
      if (!r.ok) throw new Error("expected ok");
      expect(r.body).not.toHaveProperty(r.body.prompts ? "prompt" : "prompts");
      expect(createBatchRequestSchema.safeParse(r.body).success).toBe(true);
    }
  });

  it("names the variations field for a bad count or too many videos, and the prompt for no lines", () => {
    expect(submit("a fox", "0", false)).toMatchObject({ ok: false, errors: { variations: `variations must be between 1 and ${BATCH_LIMITS.maxJobs}` } });
    expect(submit("a fox", "", false)).toMatchObject({ ok: false, errors: { variations: "variations must be a number" } });
    expect(submit("a\nb\nc", "6", true)).toMatchObject({ ok: false, errors: { variations: `a batch makes at most ${BATCH_LIMITS.maxJobs} videos; 3 prompts × variations 6 is 18` } });
    expect(submit(" \n ", "2", true)).toMatchObject({ ok: false, errors: { prompt: "write at least one prompt, one per line" } });
    expect(submit(`a fox\n${"x".repeat(2001)}`, "1", true)).toMatchObject({ ok: false, errors: { prompt: "line 2 must be at most 2000 characters" } });
    // The server's names for the same things land on the same fields.
    expect([formFieldFor("count"), formFieldFor("prompts.3"), formFieldFor("prompts")]).toEqual(["variations", "prompt", "prompt"]);
  });

  it("says what Generate will make", () => {
    expect(batchSummary(1, 1, "")).toBe("1 video.");
    expect(batchSummary(1, 4, "7")).toBe("4 videos, seeds 7 … 10.");
    expect(batchSummary(1, 4, "")).toBe("4 videos, seeds s … s+3 from one random s.");
    expect(batchSummary(3, 2, "")).toBe("3 prompts × 2 = 6 videos, seeds s … s+1 from one random s.");
    expect(batchSummary(3, 1, "5")).toBe("3 prompts × 1 = 3 videos, seed 5 for each.");
  });
});

describe("the gallery's groups", () => {
  const job = (id: string, batchId: string | null, batchIndex: number | null, status: JobView["status"] = "queued", prompt = "p") =>
    ({ id, batchId, batchIndex, status, prompt }) as JobView;

  it("gathers a batch's jobs at the place of its first, in batch order; single jobs stay cards", () => {
    const items = galleryItems([job("a", null, null), job("b2", "B", 2), job("b0", "B", 0), job("c", null, null), job("b1", "B", 1)]);
    expect(items.map((i) => (i.type === "job" ? i.job.id : `${i.id}:${i.jobs.map((j) => j.id).join(",")}`))).toEqual(["a", "B:b0,b1,b2", "c"]);
  });

  it("titles and counts a group", () => {
    const jobs = [job("1", "B", 0, "succeeded", "fox"), job("2", "B", 1, "running", "fox"), job("3", "B", 2, "queued", "fox"), job("4", "B", 3, "succeeded", "fox")];
    expect(batchStatusLine(jobs)).toBe("1 running · 1 queued · 2 done");
    expect(batchTitle(jobs)).toEqual({ prompt: "fox", label: "Batch · 4 videos" });
    expect(batchTitle([job("1", "B", 0, "queued", "fox"), job("2", "B", 1, "queued", "cat")])).toEqual({ prompt: null, label: "Batch · 2 prompts · 2 videos" });
  });
});
