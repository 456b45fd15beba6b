import type { Dag } from './dag.js';
import type { Job, JobEvent } from './job.js';

/** What the master must do after the core decided; persist effects are applied before the rest. */
export type Effect =
  | { readonly type: 'persist'; readonly job: Job; readonly event: JobEvent }
  | { readonly type: 'persistDag'; readonly dag: Dag }
  | { readonly type: 'dispatch'; readonly workerId: string; readonly job: Job }
  | { readonly type: 'kill'; readonly workerId: string; readonly jobId: string; readonly attempt: number; readonly reason?: string }
  /** The job reached a final state: wake its waiters. */
  | { readonly type: 'finished'; readonly job: Job }
  | { readonly type: 'dagFinished'; readonly dag: Dag }
  /** Call `wake(now)` at this time: a delayed or backed-off job becomes due. */
  | { readonly type: 'wake'; readonly at: number };

export interface WorkerReportedJob {
  readonly jobId: string;
  readonly attempt: number;
}
