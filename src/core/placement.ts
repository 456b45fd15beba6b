import { asUse, describeResources, shortfall, type DriverName, type JobResources } from './resources.js';
import { freeCapacity, freeSlots, type WorkerRecord } from './worker-record.js';
import { GENERAL } from './requirement.js';

export type Placement =
  { readonly placed: true; readonly workerId: string } | { readonly placed: false; readonly reason: string; readonly everPlaceable: boolean };

/** What placement reads of a job (a JobSpec is one). */
export interface PlacementNeed {
  readonly requirement: readonly string[];
  readonly resources?: JobResources;
  readonly driver?: DriverName;
}

export function satisfies(worker: Pick<WorkerRecord, 'tags'>, requirement: readonly string[]): boolean {
  for (const tag of requirement) {
    if (tag !== GENERAL && !worker.tags.has(tag)) return false;
  }
  return true;
}

function load(worker: WorkerRecord): number {
  return worker.running.size / worker.slots;
}

/**
 * Feasibility chain (alive, tags, driver, total capacity), then fit now (a free slot and the
 * unreserved CPU, memory and GPUs the job declared), then rank by least load, ties broken by the
 * worker's registration order so the same state always yields the same placement.
 */
export function placeJob(need: PlacementNeed, workers: Iterable<WorkerRecord>, pinnedWorker: string | null = null): Placement {
  const { requirement } = need;
  // A job asking only for a slot (most jobs) skips the resource arithmetic entirely.
  const want = need.resources === undefined ? null : asUse(need.resources);
  let best: WorkerRecord | undefined;
  let tagged = 0;
  let capable = 0;
  let withDriver = 0;
  let tooSmall: string | null = null;
  let busy: string | null = null;
  for (const worker of workers) {
    if (worker.health !== 'healthy' || !satisfies(worker, requirement)) continue;
    if (pinnedWorker !== null && worker.id !== pinnedWorker) continue;
    tagged++;
    if (need.driver !== undefined && !worker.drivers.has(need.driver)) continue;
    withDriver++;
    const never = want === null ? null : shortfall(want, worker.resources);
    if (never !== null) {
      tooSmall ??= `${worker.id} has ${never.have} ${never.resource} in all`;
      continue;
    }
    capable++;
    if (freeSlots(worker) <= 0) continue;
    const notNow = want === null ? null : shortfall(want, freeCapacity(worker));
    if (notNow !== null) {
      busy ??= `${worker.id} has ${notNow.have} ${notNow.resource} unreserved`;
      continue;
    }
    if (best === undefined || load(worker) < load(best) || (load(worker) === load(best) && worker.seq < best.seq)) {
      best = worker;
    }
  }
  if (best !== undefined) return { placed: true, workerId: best.id };
  const wanted = requirement.join(',');
  const asked = describeResources(need.resources);
  if (pinnedWorker !== null) {
    return { placed: false, everPlaceable: capable > 0, reason: `waiting for a free slot on ${pinnedWorker}, the worker that ran its parent (affinity)` };
  }
  if (tagged === 0) {
    return {
      placed: false,
      everPlaceable: false,
      reason: `waiting for a worker with tags ${wanted}: no live worker has them (start one with --tags ${wanted})`,
    };
  }
  if (withDriver === 0) {
    return {
      placed: false,
      everPlaceable: false,
      reason: `waiting for a worker offering the ${need.driver ?? 'process'} driver: none of the ${tagged} live worker(s) with tags ${wanted} does (start one with --driver ${need.driver ?? 'process'})`,
    };
  }
  if (capable === 0) {
    return {
      placed: false,
      everPlaceable: false,
      reason: `cannot fit any live worker: it asks for ${asked}, more than any of the ${withDriver} live worker(s) with tags ${wanted} has (${tooSmall ?? 'too small'}); lower resources or add a bigger worker`,
    };
  }
  const why = busy !== null ? `; ${busy}` : '';
  return {
    placed: false,
    everPlaceable: true,
    reason: `waiting for a free slot${asked !== '' ? ` and ${asked}` : ''} on ${capable} worker(s) with tags ${wanted}${why}`,
  };
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

/** '' for a job that asks only for a slot; otherwise its resources and driver, e.g. `[memory=256M]`. */
export function shapeKey(need: PlacementNeed): string {
  if (need.resources === undefined && need.driver === undefined) return '';
  const resources = describeResources(need.resources);
  if (resources === '' && need.driver === undefined) return '';
  return `[${[resources, need.driver ?? ''].filter((p) => p !== '').join(' ')}]`;
}
