import { ErrorCode, TitanError } from '../common/errors.js';

/** How many requests one token may make per window. */
export interface RateLimit {
  readonly requests: number;
  readonly windowMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { requests: 150, windowMs: 10_000 };

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

/**
 * A sliding-window log per key (exact: never more than `requests` in any window, no burst at a
 * window edge). Pure: time comes in as an argument. Memory is at most `requests` timestamps per
 * key that was active within the last window; `sweep` drops idle keys.
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(readonly limit: RateLimit) {}

  take(key: string, now: number): RateDecision {
    let log = this.hits.get(key);
    if (log === undefined) {
      log = [];
      this.hits.set(key, log);
    }
    const horizon = now - this.limit.windowMs;
    let drop = 0;
    while (drop < log.length && log[drop]! <= horizon) drop++;
    if (drop > 0) log.splice(0, drop);
    if (log.length >= this.limit.requests) return { allowed: false, retryAfterMs: Math.max(1, log[0]! + this.limit.windowMs - now) };
    log.push(now);
    return { allowed: true };
  }

  sweep(now: number): void {
    const horizon = now - this.limit.windowMs;
    for (const [key, log] of this.hits) if (log.length === 0 || log[log.length - 1]! <= horizon) this.hits.delete(key);
  }
}

/** Parses "150/10s", "60/1m", "1000/500ms"; "off" means no limit. */
export function parseRateLimit(spec: string): RateLimit | null {
  if (spec === 'off') return null;
  const match = /^(\d+)\s*\/\s*(\d+)?\s*(ms|s|m)$/.exec(spec.trim());
  const requests = Number(match?.[1]);
  const amount = match?.[2] === undefined ? 1 : Number(match[2]);
  if (match === null || !Number.isInteger(requests) || requests < 1 || amount < 1) {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `rate limit "${spec}" is not <requests>/<window> (examples: 150/10s, 60/1m, off)`);
  }
  const unit = match[3] === 'ms' ? 1 : match[3] === 's' ? 1000 : 60_000;
  return { requests, windowMs: amount * unit };
}
