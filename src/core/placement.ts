import { freeSlots, type WorkerRecord } from './worker-record.js';

/** Every worker can run general work; other tags must be declared by the worker. */
export const GENERAL = 'GENERAL';

export type Placement =
  | { readonly placed: true; readonly workerId: string }
  | { readonly placed: false; readonly reason: string; readonly everPlaceable: boolean };

export function satisfies(worker: WorkerRecord, requirement: readonly string[]): boolean {
  for (const tag of requirement) {
    if (tag !== GENERAL && !worker.tags.has(tag)) return false;
  }
  return true;
}

function load(worker: WorkerRecord): number {
  return worker.running.size / worker.slots;
}

/**
 * Feasibility chain (alive, tags, free slot), then rank by least load, ties broken by the
 * worker's registration order so the same state always yields the same placement.
 */
export function placeJob(requirement: readonly string[], workers: Iterable<WorkerRecord>, pinnedWorker: string | null = null): Placement {
  let best: WorkerRecord | undefined;
  let capable = 0;
  for (const worker of workers) {
    if (worker.health !== 'healthy' || !satisfies(worker, requirement)) continue;
    if (pinnedWorker !== null && worker.id !== pinnedWorker) continue;
    capable++;
    if (freeSlots(worker) <= 0) continue;
    if (best === undefined || load(worker) < load(best) || (load(worker) === load(best) && worker.seq < best.seq)) {
      best = worker;
    }
  }
  if (best !== undefined) return { placed: true, workerId: best.id };
  const wanted = requirement.join(',');
  if (pinnedWorker !== null) {
    return { placed: false, everPlaceable: capable > 0, reason: `waiting for a free slot on ${pinnedWorker}, the worker that ran its parent (affinity)` };
  }
  if (capable === 0) {
    return {
      placed: false,
      everPlaceable: false,
      reason: `waiting for a worker with tags ${wanted}: no live worker has them (start one with --tags ${wanted})`,
    };
  }
  return { placed: false, everPlaceable: true, reason: `waiting for a free slot on ${capable} worker(s) with tags ${wanted}` };
}

const keys = new WeakMap<readonly string[], string>();

/**
 * A stable key for a requirement, so jobs that need the same tags share one queue. Cached per
 * requirement array (specs are immutable): it is asked for on every queue push and removal.
 */
export function requirementKey(requirement: readonly string[]): string {
  let key = keys.get(requirement);
  if (key === undefined) {
    const tags = requirement.filter((t) => t !== GENERAL);
    key = tags.length === 0 ? GENERAL : [...new Set(tags)].sort().join('+');
    keys.set(requirement, key);
  }
  return key;
}
