/**
 * How a webhook body is signed: HMAC-SHA256 with WEBHOOK_SECRET over `<timestamp>.<raw body>`, sent as
 * `X-Studio-Signature: sha256=<hex>` with `X-Studio-Timestamp: <unix seconds>`. The timestamp is part of
 * the signed text, so a receiver that refuses old timestamps cannot be fed a recorded delivery again
 * (README "Webhooks" shows the receiver's check).
 */
import { createHmac } from "node:crypto";

export const SIGNATURE_HEADER = "X-Studio-Signature";
export const TIMESTAMP_HEADER = "X-Studio-Timestamp";
export const EVENT_HEADER = "X-Studio-Event";
export const DELIVERY_HEADER = "X-Studio-Delivery";

export function signBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}
