/**
 * What counts as a webhook URL, for a job's own (the creation body's `webhookUrl`) and for the global
 * WEBHOOK_URL alike: an absolute http(s) URL without credentials in it (they would be stored and shown).
 */
import { z } from "zod";

export const MAX_WEBHOOK_URL_CHARS = 2000;

/** `field` names the value in messages ("" for an environment variable, whose name the config adds). */
export function webhookUrlSchema(field: string) {
  const subject = field ? `${field} ` : "";
  return z
    .string({ error: `${subject}must be a string` })
    .max(MAX_WEBHOOK_URL_CHARS, `${subject}must be at most ${MAX_WEBHOOK_URL_CHARS} characters`)
    .refine((v) => {
      try {
        const url = new URL(v);
        return (url.protocol === "http:" || url.protocol === "https:") && !url.username && !url.password;
      } catch {
        return false;
      }
    }, `${subject}must be an absolute http:// or https:// URL without a user name or password`);
}

/** The part of a URL shown in delivery records: enough to tell receivers apart, no path or query tokens. */
export function urlOrigin(url: string): string {
  return new URL(url).origin;
}
