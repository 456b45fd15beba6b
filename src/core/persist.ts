import type { Effect } from './effects.js';
import type { Job, JobState } from './job.js';

/** The effect that writes the job as it is now, with the event of its move from `from`. */
export function persist(job: Job, from: JobState | null, now: number, detail: string | null): Effect {
  return {
    type: 'persist',
    job,
    event: { jobId: job.id, at: now, from, to: job.state, attempt: job.attempt, workerId: job.workerId, detail },
  };
}
