import { TitanError, ErrorCode } from '../common/errors.js';
import type { Job } from './job.js';

/**
 * Jobs of admissions still being submitted. The master submits a large DAG (or a large batch
 * into one) a slice per turn of its loop; between slices other events run, and none of them may
 * start a job of a batch that is not yet committed, or the batch could be half run and never
 * acknowledged. So a job of a held admission that becomes ready is parked here instead of queued
 * (or held for its time); `release` hands the parked jobs back, in order, once the last slice is
 * in. A parked job is `queued` in memory and in the store as any other; it only is in no queue.
 */
export class AdmissionHolds {
  private next = 1;
  /** Job id → its admission, for the jobs of admissions still held. */
  private readonly owner = new Map<string, string>();
  /** Admission → its jobs' ids and the jobs parked so far. */
  private readonly held = new Map<string, { ids: string[]; parked: Job[] }>();

  /** A new admission, held until `release`. */
  begin(): string {
    const admission = `admission-${this.next++}`;
    this.held.set(admission, { ids: [], parked: [] });
    return admission;
  }

  /** `jobId` belongs to `admission`: it is parked whenever it becomes ready before the release. */
  enlist(admission: string, jobId: string): void {
    const entry = this.held.get(admission);
    if (entry === undefined) throw new TitanError(ErrorCode.INTERNAL, `admission ${admission} is not held (released already, or never begun)`);
    entry.ids.push(jobId);
    this.owner.set(jobId, admission);
  }

  /** Parks `job` when its admission is held: true, and the caller queues nothing. */
  park(job: Job): boolean {
    if (this.owner.size === 0) return false;
    const admission = this.owner.get(job.id);
    if (admission === undefined) return false;
    this.held.get(admission)!.parked.push(job);
    return true;
  }

  /** Ends the hold; returns the jobs parked meanwhile, in the order they became ready. */
  release(admission: string): Job[] {
    const entry = this.held.get(admission);
    if (entry === undefined) return [];
    this.held.delete(admission);
    for (const id of entry.ids) this.owner.delete(id);
    return entry.parked;
  }

  /** Admissions held now (for tests and stats). */
  get size(): number {
    return this.held.size;
  }
}
