/** The master's view of one worker process. */

export interface WorkerResources {
  readonly cpus: number;
  readonly memoryMb: number;
  readonly gpus: number;
}

export type WorkerHealth = 'healthy' | 'draining' | 'dead';

export interface WorkerRecord {
  readonly id: string;
  readonly host: string;
  readonly tags: ReadonlySet<string>;
  readonly slots: number;
  readonly resources: WorkerResources;
  health: WorkerHealth;
  /** Jobs (by id) this worker holds now, assigned or running. */
  readonly running: Set<string>;
  lastSeen: number;
  /** Order of registration, for stable tie-breaking. */
  readonly seq: number;
}

export function freeSlots(worker: WorkerRecord): number {
  return worker.slots - worker.running.size;
}
