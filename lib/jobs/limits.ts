/** What an upload may be (lib/jobs/uploads.ts enforces it; the API documentation quotes it). */
export const UPLOAD_LIMITS = {
  /** File size; the request body may be slightly larger (multipart framing). */
  maxBytes: 50 * 1024 * 1024,
  /** Decoded image size (width × height). */
  maxImagePixels: 40_000_000,
  maxVideoSeconds: 10,
  maxVideoSide: 1920,
  maxVideoFrames: 300,
  /** Longest side of the thumbnail shown in the studio. */
  thumbnailSide: 320,
} as const;

/** Room for the multipart framing around the file itself. */
export const UPLOAD_FORM_OVERHEAD = 64 * 1024;
