import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time equality of two secrets: both are hashed first, so not even the length leaks. */
export function tokensMatch(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}
