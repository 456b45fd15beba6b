import { TitanError, ErrorCode } from '../common/errors.js';
import { toJobView, type JobView } from './job-view.js';
import type { Master } from './master.js';

/** A job as clients see it: from memory while active (with why it waits), else from the store. */
export function jobView(master: Master, jobId: string): JobView {
  const active = master.scheduler.job(jobId);
  if (active !== undefined) return toJobView(active, master.scaling.explain(active.spec.requirement, master.scheduler.waitingReason(active, Date.now())));
  const stored = master.store.getJob(jobId);
  if (stored === undefined) throw new TitanError(ErrorCode.UNKNOWN_JOB, `no job ${jobId}: list jobs with \`titan jobs\``);
  return toJobView(stored);
}

/** Ids of the jobs not final yet (for namespace quotas). */
export function* activeJobIds(master: Master): Generator<string> {
  for (const job of master.scheduler.activeJobs()) yield job.id;
}
