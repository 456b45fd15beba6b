import { requirementKey, satisfies } from './placement.js';
import { GENERAL } from './requirement.js';
import { freeSlots, type WorkerRecord } from './worker-record.js';

/** How the autoscaler reacts; times in milliseconds. */
export interface ScalingPolicy {
  /** Queued work must exceed free slots this long before a worker is asked for (default 15 s). */
  readonly windowMs: number;
  /** A spawned worker with nothing to run this long is retired. */
  readonly idleWindowMs: number;
  /** A requested worker that has not registered by then no longer counts as coming. */
  readonly spawnTimeoutMs: number;
  /** External provisioning: the shortfall goes to a webhook instead of to spawnable hosts. */
  readonly webhook: boolean;
}

/** A worker host that accepts spawn requests (`titan worker --spawnable`). */
export interface SpawnHost {
  readonly id: string;
  /** Tags a worker it spawns may carry (GENERAL is implied). */
  readonly tags: readonly string[];
  readonly slots: number;
  /** Spawned workers it keeps at least / at most. */
  readonly min: number;
  readonly max: number;
}

/** Ready work of one capability pool (jobs needing the same tags). */
export interface PoolDemand {
  readonly requirement: readonly string[];
  readonly queued: number;
}

/** What the decision reads of a worker; the scheduler's records are read, never changed. */
export type ScalingWorker = Readonly<Pick<WorkerRecord, 'id' | 'health' | 'tags' | 'slots'>> & { readonly running: ReadonlySet<string> };

export interface ScalingInput {
  readonly demand: readonly PoolDemand[];
  readonly workers: Iterable<ScalingWorker>;
  /** Spawned worker id → the host that spawned it. */
  readonly spawnedBy: ReadonlyMap<string, string>;
  /** Hosts connected now. */
  readonly hosts: readonly SpawnHost[];
}

export interface PendingSpawn {
  readonly workerId: string;
  readonly hostId: string;
  readonly tags: readonly string[];
  readonly slots: number;
  readonly at: number;
}

export interface ScalingState {
  /** Pool key → since when its queued work exceeds its free slots (or since its last request). */
  readonly shortSince: ReadonlyMap<string, number>;
  /** Spawned worker id → since when it runs nothing. */
  readonly idleSince: ReadonlyMap<string, number>;
  /** Workers asked for that have not registered yet. */
  readonly pending: readonly PendingSpawn[];
  /** Makes spawned worker ids unique within one master's life. */
  readonly seq: number;
}

export type ScalingAction =
  | {
      readonly type: 'spawn';
      readonly hostId: string;
      readonly workerId: string;
      readonly tags: readonly string[];
      readonly slots: number;
      readonly pool: string;
      readonly shortfall: number;
    }
  | {
      readonly type: 'provision';
      readonly pool: string;
      readonly requirement: readonly string[];
      readonly shortfall: number;
      readonly queued: number;
      readonly freeSlots: number;
    }
  | { readonly type: 'retire'; readonly workerId: string; readonly hostId: string; readonly idleMs: number };

export interface ScalingDecision {
  readonly state: ScalingState;
  readonly actions: readonly ScalingAction[];
  /** When to decide again if nothing else happens first; null: only on the next change. */
  readonly nextAt: number | null;
}

export const INITIAL_SCALING_STATE: ScalingState = { shortSince: new Map(), idleSince: new Map(), pending: [], seq: 0 };

/** The state without one pending request (the host refused it). */
export function forgetPending(state: ScalingState, workerId: string): ScalingState {
  return { ...state, pending: state.pending.filter((p) => p.workerId !== workerId) };
}

/** The host may spawn a worker with every tag the requirement names. */
export function hostCanServe(host: SpawnHost, requirement: readonly string[]): boolean {
  return requirement.every((tag) => tag === GENERAL || host.tags.includes(tag));
}

function fits(tags: readonly string[], requirement: readonly string[]): boolean {
  return requirement.every((tag) => tag === GENERAL || tags.includes(tag));
}

/**
 * Decides which workers to ask for and which to retire. Per pool: when its queued work exceeds
 * its free slots (and the slots of workers already asked for) for a whole window, one worker is
 * asked of the least-used host that may spawn its tags, below its max (or the webhook is called);
 * the window then starts again. A spawned worker idle for the idle window is retired unless its
 * host would drop below its min; a host below its min is topped up. Pure: `now` is passed in.
 */
export function decideScaling(state: ScalingState, input: ScalingInput, policy: ScalingPolicy, now: number): ScalingDecision {
  const workers = [...input.workers];
  const known = new Set(workers.map((w) => w.id));
  const pending = state.pending.filter((p) => !known.has(p.workerId) && now - p.at < policy.spawnTimeoutMs);
  const shortSince = new Map<string, number>();
  const idleSince = new Map<string, number>();
  const actions: ScalingAction[] = [];
  let seq = state.seq;
  let nextAt = Infinity;
  const later = (at: number): void => {
    nextAt = Math.min(nextAt, Math.max(at, now + 1));
  };
  for (const p of pending) later(p.at + policy.spawnTimeoutMs);

  const spawnedCount = new Map<string, number>();
  for (const w of workers) {
    const host = input.spawnedBy.get(w.id);
    if (host !== undefined && w.health !== 'dead') spawnedCount.set(host, (spawnedCount.get(host) ?? 0) + 1);
  }
  for (const p of pending) spawnedCount.set(p.hostId, (spawnedCount.get(p.hostId) ?? 0) + 1);
  const count = (hostId: string): number => spawnedCount.get(hostId) ?? 0;
  const spawn = (host: SpawnHost, tags: readonly string[], pool: string, shortfall: number): void => {
    const workerId = `${host.id}.s${now.toString(36)}${(seq++).toString(36)}`.slice(-128);
    const request = { workerId, hostId: host.id, tags, slots: host.slots, at: now };
    pending.push(request);
    spawnedCount.set(host.id, count(host.id) + 1);
    actions.push({ type: 'spawn', hostId: host.id, workerId, tags, slots: host.slots, pool, shortfall });
    later(now + policy.spawnTimeoutMs);
  };

  for (const { requirement, queued } of input.demand) {
    if (queued <= 0) continue;
    const pool = requirementKey(requirement);
    let free = 0;
    for (const w of workers) if (w.health === 'healthy' && satisfies(w, requirement)) free += Math.max(0, freeSlots(w));
    const coming = pending.filter((p) => fits(p.tags, requirement)).reduce((sum, p) => sum + p.slots, 0);
    const shortfall = queued - free - coming;
    if (shortfall <= 0) continue;
    const since = state.shortSince.get(pool) ?? now;
    if (now - since < policy.windowMs) {
      shortSince.set(pool, since);
      later(since + policy.windowMs);
      continue;
    }
    if (policy.webhook) {
      actions.push({ type: 'provision', pool, requirement, shortfall, queued, freeSlots: free });
    } else {
      const host = input.hosts
        .filter((h) => hostCanServe(h, requirement) && count(h.id) < h.max)
        .sort((a, b) => count(a.id) - count(b.id) || (a.id < b.id ? -1 : 1))[0];
      // No host can help now: the pool stays short, and a host that registers is asked at once.
      if (host === undefined) {
        shortSince.set(pool, since);
        continue;
      }
      spawn(
        host,
        requirement.filter((t) => t !== GENERAL),
        pool,
        shortfall,
      );
    }
    shortSince.set(pool, now);
    later(now + policy.windowMs);
  }

  for (const host of input.hosts) {
    while (count(host.id) < Math.min(host.min, host.max)) spawn(host, host.tags, requirementKey(host.tags), 0);
  }

  const hostMin = new Map(input.hosts.map((h) => [h.id, h.min]));
  for (const w of workers) {
    const hostId = input.spawnedBy.get(w.id);
    if (hostId === undefined || w.health !== 'healthy' || w.running.size > 0) continue;
    const since = state.idleSince.get(w.id) ?? now;
    idleSince.set(w.id, since);
    if (now - since < policy.idleWindowMs) {
      later(since + policy.idleWindowMs);
      continue;
    }
    // Kept warm: the host's min. A change in its count arrives as an event, so no timer here.
    if (count(hostId) <= (hostMin.get(hostId) ?? 0)) continue;
    idleSince.delete(w.id);
    spawnedCount.set(hostId, count(hostId) - 1);
    actions.push({ type: 'retire', workerId: w.id, hostId, idleMs: now - since });
  }

  return { state: { shortSince, idleSince, pending, seq }, actions, nextAt: nextAt === Infinity ? null : nextAt };
}
