import { TitanError, ErrorCode } from './errors.js';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30`, `30s`, `1.5m`, `2h`, `1d`, `250ms` → milliseconds (a bare number is seconds). */
export function parseDuration(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  const unit = UNITS[match?.[2] ?? 's'];
  if (match === null || unit === undefined) {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `${what} must be a duration like 30s, 5m, 2h or 1d (a bare number is seconds), got "${text}"`);
  }
  return Math.round(Number(match[1]) * unit);
}

/**
 * An ISO 8601 time with its zone (`2026-12-01T08:00:00Z`, `2026-12-01T09:00+01:00`) → epoch ms.
 * A time without a zone is refused: which zone was meant cannot be guessed.
 */
export function parseInstant(text: string, what: string): number {
  const iso = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.exec(text.trim());
  const at = iso !== null ? Date.parse(text.trim().replace(' ', 'T')) : Number.NaN;
  if (iso === null || !Number.isFinite(at)) {
    const hint = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$/.test(text.trim()) ? ' (add its zone: Z for UTC, or an offset like +01:00)' : '';
    throw new TitanError(ErrorCode.INVALID_REQUEST, `${what} must be an ISO 8601 time with a zone like 2026-12-01T08:00:00Z, got "${text}"${hint}`);
  }
  return at;
}
