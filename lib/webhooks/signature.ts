/**
 * How a webhook body is signed: HMAC-SHA256 with WEBHOOK_SECRET over `<timestamp>.<raw body>`, sent as
 * `X-Studio-Signature: sha256=<hex>` with `X-Studio-Timestamp: <unix seconds>`. The timestamp is part of
 * the signed text, so a receiver that refuses old timestamps cannot be fed a recorded delivery again.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "X-Studio-Signature";
export const TIMESTAMP_HEADER = "X-Studio-Timestamp";
export const EVENT_HEADER = "X-Studio-Event";
export const DELIVERY_HEADER = "X-Studio-Delivery";

export function signBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** What a receiver does (README shows the same steps): recompute, compare in constant time, check the age. */
export function verifySignature(
  secret: string,
  header: { signature: string | null; timestamp: string | null },
  body: string,
  opts: { toleranceS?: number; nowS?: number } = {},
): boolean {
  const timestamp = Number(header.timestamp);
  if (!header.signature || !Number.isSafeInteger(timestamp)) return false;
  const now = opts.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (opts.toleranceS ?? 300)) return false;
  const expected = Buffer.from(signBody(secret, timestamp, body));
  const given = Buffer.from(header.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
