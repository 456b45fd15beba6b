import type { Effect } from './effects.js';
import type { Job } from './job.js';
import { persist } from './persist.js';
import type { Wakeups } from './wakeups.js';

/** Pending jobs whose parents are done and which wait for a person to approve them. */
export class Approvals {
  private readonly awaiting = new Set<string>();

  constructor(private readonly wakeups: Wakeups) {}

  has(jobId: string): boolean {
    return this.awaiting.has(jobId);
  }

  ids(): IterableIterator<string> {
    return this.awaiting.values();
  }

  delete(jobId: string): void {
    this.awaiting.delete(jobId);
  }

  /**
   * The job's parents are done but it needs a person's approval: it stays pending until
   * approve/reject or its deadline, which is kept in notBefore so it survives a restart.
   */
  enter(job: Job, now: number, effects: Effect[]): void {
    const approval = job.spec.approval;
    if (approval === undefined) return;
    this.awaiting.add(job.id);
    job.reason = `awaiting approval: ${approval.message}`;
    if (approval.timeoutSeconds > 0) {
      job.notBefore ??= now + approval.timeoutSeconds * 1000;
      this.wakeups.hold(job.id, job.notBefore, effects);
    }
    effects.push(persist(job, job.state, now, job.reason));
  }
}
