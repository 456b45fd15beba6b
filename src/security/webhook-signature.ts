import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

/**
 * Signed outgoing webhooks (the autoscaler's provisioning call), in the style of Stripe's and
 * GitHub's: the receiver recomputes an HMAC-SHA256 over the timestamp, the delivery id and the
 * exact body bytes with the shared secret, compares in constant time, refuses stale timestamps
 * (replays) and drops delivery ids it has already handled (retries, duplicates).
 */
export const WEBHOOK_HEADERS = {
  /** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<delivery>.<body>")>`; absent when no secret is set. */
  signature: 'x-titan-signature',
  /** Unix seconds when the master signed the delivery. */
  timestamp: 'x-titan-timestamp',
  /** A UUID unique to the delivery: deduplicate on it. */
  delivery: 'x-titan-delivery',
  /** What happened: `provision` for the autoscaler. */
  event: 'x-titan-event',
} as const;

/** How old a delivery's timestamp may be (either way) before a receiver should refuse it. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** The shortest secret accepted: 128 bits as hex. */
export const WEBHOOK_SECRET_MIN_LENGTH = 16;

function signatureOf(secret: string, timestamp: string, delivery: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${delivery}.`).update(body).digest('hex')}`;
}

/** The headers of one delivery of `body`; signed when a secret is given. */
export function webhookHeaders(
  event: string,
  body: string,
  secret: string | undefined,
  at: { readonly nowMs?: number; readonly delivery?: string } = {},
): Record<string, string> {
  const timestamp = String(Math.floor((at.nowMs ?? Date.now()) / 1000));
  const delivery = at.delivery ?? randomUUID();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [WEBHOOK_HEADERS.event]: event,
    [WEBHOOK_HEADERS.timestamp]: timestamp,
    [WEBHOOK_HEADERS.delivery]: delivery,
  };
  if (secret !== undefined) headers[WEBHOOK_HEADERS.signature] = signatureOf(secret, timestamp, delivery, body);
  return headers;
}

export type WebhookVerdict = { readonly ok: true; readonly delivery: string; readonly timestamp: number } | { readonly ok: false; readonly reason: string };

/** A receiver's check of one delivery (header names lower-case, as Node gives them). */
export function verifyWebhook(
  secret: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: string,
  nowMs: number = Date.now(),
  toleranceSeconds: number = WEBHOOK_TOLERANCE_SECONDS,
): WebhookVerdict {
  const one = (name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? undefined : value;
  };
  const signature = one(WEBHOOK_HEADERS.signature);
  const timestamp = one(WEBHOOK_HEADERS.timestamp);
  const delivery = one(WEBHOOK_HEADERS.delivery);
  if (signature === undefined || timestamp === undefined || delivery === undefined) {
    return { ok: false, reason: `missing one of ${WEBHOOK_HEADERS.signature}, ${WEBHOOK_HEADERS.timestamp}, ${WEBHOOK_HEADERS.delivery}` };
  }
  const seconds = Number(timestamp);
  if (!/^\d+$/.test(timestamp) || Math.abs(nowMs / 1000 - seconds) > toleranceSeconds) {
    return { ok: false, reason: `timestamp ${timestamp} is more than ${toleranceSeconds} s from now` };
  }
  const expected = Buffer.from(signatureOf(secret, timestamp, delivery, body));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'signature does not match the body' };
  return { ok: true, delivery, timestamp: seconds };
}
