/** Ten seconds: a leader that stops renewing is replaced within it; a loaded machine misses no renewal (one every 3.3 s). */
export const DEFAULT_LEASE_TTL_MS = 10_000;
