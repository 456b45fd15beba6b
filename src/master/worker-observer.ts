import type { SpawnHost } from '../core/autoscale.js';
import type { HeldAttempt } from '../core/janitor.js';

/**
 * What the parts acting beside the master (the janitor, the autoscaler, inference routing) are
 * told as it happens. The composition root plugs them in (`Master.observe`); the master does not
 * know which are there.
 */
export interface WorkerObserver {
  /** A worker's connection (re)attached. */
  workerAttached?(workerId: string): void;
  /** A worker's connection ended or its heartbeat deadline passed. */
  workerDisconnected?(workerId: string, why: string): void;
  /** A worker is lost for good: its attempts were handed back. */
  workerLost?(workerId: string): void;
  /** A worker registered (`spawn`: what it can start; `spawnedBy`: the host that started it). */
  workerRegistered?(workerId: string, spawn: Omit<SpawnHost, 'id'> | undefined, spawnedBy: string | undefined): void;
  /** A JOB_DISPATCH frame went out to this worker on its current connection. */
  dispatched?(workerId: string, jobId: string): void;
  /** A heartbeat listed what the worker holds, and how many dispatches it had received. */
  heartbeat?(workerId: string, held: readonly HeldAttempt[] | undefined, dispatchesReceived: number | undefined, now: number): void;
  /** A batch of changes was applied (or the worker set changed): demand may differ. */
  changed?(): void;
}
