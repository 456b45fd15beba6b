/**
 * When a DAG run may start: `runAt` (a Date or epoch ms) and/or `delaySeconds` after the master
 * accepts it; no job of the run is queued before. E.g. `submitDag('nightly', jobs, { runAt: new Date('2026-12-01T02:00:00Z') })`.
 */
export interface DagTiming {
  readonly runAt?: Date | number;
  readonly delaySeconds?: number;
}

export function timing(when: DagTiming): { runAt?: number; delaySeconds?: number } {
  const runAt = when.runAt instanceof Date ? when.runAt.getTime() : when.runAt;
  return { ...(runAt !== undefined ? { runAt } : {}), ...(when.delaySeconds !== undefined ? { delaySeconds: when.delaySeconds } : {}) };
}
