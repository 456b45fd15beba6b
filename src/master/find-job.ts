import { TitanError, ErrorCode } from '../common/errors.js';
import { toJobView, type JobView } from './job-view.js';
import type { Master } from './master.js';

/** What a job view reads: the active job from the core, a finished one from the store. */
export type JobViewHost = Pick<Master, 'reads'>;

/** A job as clients see it: from memory while active (with why it waits), else from the store. */
export async function jobView(master: JobViewHost, jobId: string): Promise<JobView> {
  const active = master.reads.job(jobId);
  if (active !== undefined) return toJobView(active, master.reads.explainedWait(active, Date.now()));
  const stored = await master.reads.getJob(jobId);
  // Resubmitted by a retry while the store was read: the live job is the answer.
  const live = master.reads.job(jobId);
  if (live !== undefined) return toJobView(live, master.reads.explainedWait(live, Date.now()));
  if (stored === undefined) throw new TitanError(ErrorCode.UNKNOWN_JOB, `no job ${jobId}: list jobs with \`titan jobs\``);
  return toJobView(stored);
}

/** Ids of the jobs not final yet (for namespace quotas). */
export function* activeJobIds(master: JobViewHost): Generator<string> {
  for (const job of master.reads.activeJobs()) yield job.id;
}
