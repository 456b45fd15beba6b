/**
 * What a worker tells its watchdog, one JSON object per line on the watchdog's stdin. Times are
 * CLOCK_MONOTONIC milliseconds (process.hrtime), shared by every process of the host and never stepped.
 */
export type WatchdogMessage =
  /** The attempts may run until this time; later, unless renewed, they are killed. */
  | { readonly type: 'lease'; readonly expiresAt: number }
  /** An attempt (key `<jobId>/<attempt>`) is starting; its process group and cgroups once known. */
  | { readonly type: 'start'; readonly key: string; readonly pgid?: number; readonly cgroupProcs?: readonly string[] }
  /** The attempt's processes are gone. */
  | { readonly type: 'end'; readonly key: string };

export function attemptKey(jobId: string, attempt: number): string {
  return `${jobId}/${attempt}`;
}

/** The message, or null for a line that is not one (ignored: the worker is the only writer). */
export function parseWatchdogLine(text: string): WatchdogMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Record<string, unknown>;
  if (m.type === 'lease' && typeof m.expiresAt === 'number') return { type: 'lease', expiresAt: m.expiresAt };
  if (m.type === 'end' && typeof m.key === 'string') return { type: 'end', key: m.key };
  if (m.type !== 'start' || typeof m.key !== 'string') return null;
  const pgid = typeof m.pgid === 'number' && Number.isInteger(m.pgid) && m.pgid > 1 ? m.pgid : undefined;
  const cgroupProcs = Array.isArray(m.cgroupProcs) ? m.cgroupProcs.filter((p): p is string => typeof p === 'string' && p.endsWith('/cgroup.procs')) : undefined;
  return {
    type: 'start',
    key: m.key,
    ...(pgid !== undefined ? { pgid } : {}),
    ...(cgroupProcs !== undefined && cgroupProcs.length > 0 ? { cgroupProcs } : {}),
  };
}
