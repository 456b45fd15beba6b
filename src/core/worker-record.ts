/** The master's view of one worker process. */
import { subtractUse, type Capacity, type DriverName } from './resources.js';

export interface WorkerResources {
  readonly cpus: number;
  readonly memoryMb: number;
  readonly gpus: number;
}

/** `unreachable`: its connection dropped but its lease may still run; it takes no new work. */
export type WorkerHealth = 'healthy' | 'draining' | 'unreachable' | 'dead';

export interface WorkerRecord {
  readonly id: string;
  readonly host: string;
  readonly tags: ReadonlySet<string>;
  readonly slots: number;
  readonly resources: WorkerResources;
  /** The drivers it runs jobs with; a job asking for another never lands here. */
  readonly drivers: ReadonlySet<DriverName>;
  /** The sum of the resources its held jobs declared. */
  used: Capacity;
  /** What each held job reserved, released when the job leaves. */
  readonly reservations: Map<string, Capacity>;
  health: WorkerHealth;
  /** Jobs (by id) this worker holds now, assigned or running. */
  readonly running: Set<string>;
  lastSeen: number;
  /** Order of registration, for stable tie-breaking. */
  readonly seq: number;
}

export function freeSlots(worker: Pick<WorkerRecord, 'slots'> & { readonly running: ReadonlySet<string> }): number {
  return worker.slots - worker.running.size;
}

/** Capacity not reserved by the jobs it holds. */
export function freeCapacity(worker: WorkerRecord): Capacity {
  return subtractUse(worker.resources, worker.used);
}
