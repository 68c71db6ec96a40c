import { describe, expect, it } from "vitest";
import type { JobView, StudioEvent } from "../../lib/ui/api-types.ts";
import { applyEvent, isStudioEvent, parseEventData, progressOf, snapshotJob } from "../../lib/ui/job-state.ts";

const job: JobView = {
  id: "job-12345678",
  kind: "t2v",
  status: "queued",
  prompt: "p",
  negativePrompt: "",
  params: {},
  seed: null,
  model: "m",
  inputUploadId: null,
  phase: null,
  step: 0,
  totalSteps: 0,
  progress: 0,
  etaS: null,
  attempts: 0,
  resumedFromStep: null,
  error: null,
  timings: null,
  createdAt: "2026-01-01T00:00:00Z",
  startedAt: null,
  finishedAt: null,
  videoUrl: null,
  posterUrl: null,
  previewUrl: null,
  inputThumbnailUrl: null,
  retryOfId: null,
  continuesJobId: null,
  chain: null,
  priority: "normal",
  hasWebhook: false,
  batchId: null,
  batchIndex: null,
};
/** An event with only the fields a case is about (the live state must cope with what it does not use). */
const ev = (e: { type: StudioEvent["type"] } & Record<string, unknown>): StudioEvent => ({ jobId: job.id, at: "2026-01-01T00:01:00Z", ...e }) as StudioEvent;

describe("live job state", () => {
  it("follows a job from queued to succeeded", () => {
    let j = applyEvent(job, ev({ type: "started" }));
    expect(j.status).toBe("running");
    expect(j.startedAt).toBe("2026-01-01T00:01:00Z");
    j = applyEvent(j, ev({ type: "progress", phase: "denoise", step: 21, total: 50, elapsedS: 10, etaS: 14 }));
    expect(j).toMatchObject({ phase: "denoise", step: 21, totalSteps: 50, etaS: 14 });
    // Denoising is the 15–90 % slice of the whole job (lib/jobs/progress.ts, after load, text and input): 0.15 + 0.75 · 21/50.
    expect(progressOf(j)).toBeCloseTo(0.465);
    // The API's own figure wins when the event carries it.
    expect(applyEvent(j, ev({ type: "progress", phase: "decode", step: 1, total: 9, progress: 0.93 })).progress).toBe(0.93);
    j = applyEvent(j, ev({ type: "preview", url: "/api/jobs/job-12345678/preview?step=21", step: 21 }));
    expect(j.previewUrl).toBe("/api/jobs/job-12345678/preview?step=21");
    j = applyEvent(j, ev({ type: "succeeded", videoUrl: "/v.mp4", posterUrl: "/p.jpg", seed: 99, timings: { denoise: 12 } }));
    expect(j).toMatchObject({ status: "succeeded", seed: 99, videoUrl: "/v.mp4", timings: { denoise: 12 }, etaS: null });
    expect(progressOf(j)).toBe(1);
  });

  it("records failures and cancellations, and ignores other jobs' events", () => {
    expect(applyEvent(job, ev({ type: "failed", error: "engine not wired yet" }))).toMatchObject({ status: "failed", error: "engine not wired yet" });
    expect(applyEvent(job, ev({ type: "canceled" })).status).toBe("canceled");
    expect(applyEvent(job, { ...ev({ type: "started" }), jobId: "other-123" })).toBe(job);
  });

  it("parses SSE payloads: events and snapshots", () => {
    expect(parseEventData("not json")).toBeUndefined();
    expect(isStudioEvent(parseEventData(JSON.stringify(ev({ type: "queued" }))))).toBe(true);
    expect(isStudioEvent({ type: "queued" })).toBe(false);
    expect(snapshotJob(job)).toBe(job);
    expect(snapshotJob({ job })).toBe(job);
    expect(snapshotJob({ hello: 1 })).toBeUndefined();
  });
});
