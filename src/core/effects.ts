import type { Job } from './job.js';
import type { JobEvent } from '../store/store.js';

/** What the master must do after the core decided; persist effects are applied before the rest. */
export type Effect =
  | { readonly type: 'persist'; readonly job: Job; readonly event: JobEvent }
  | { readonly type: 'dispatch'; readonly workerId: string; readonly job: Job }
  | { readonly type: 'kill'; readonly workerId: string; readonly jobId: string; readonly attempt: number }
  /** The job reached a final state: wake its waiters, drop it from memory after persisting. */
  | { readonly type: 'finished'; readonly job: Job };

export interface WorkerReportedJob {
  readonly jobId: string;
  readonly attempt: number;
}
