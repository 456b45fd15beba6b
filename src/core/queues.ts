import type { Job } from './job.js';
import { JobQueue } from './job-queue.js';
import { placeJob, requirementKey, shapeKey } from './placement.js';
import type { Workers } from './workers.js';

/**
 * Ready jobs, one priority queue per requirement (and per pinned worker for affinity), so a job
 * nobody can take now never blocks the jobs behind it that others could.
 */
export class Queues {
  private readonly byKey = new Map<string, JobQueue>();

  push(job: Job): void {
    this.queueFor(job).push(job);
  }

  remove(job: Job): void {
    this.byKey.get(keyOf(job))?.remove(job.id);
  }

  depths(): Record<string, number> {
    const depths: Record<string, number> = {};
    for (const [key, queue] of this.byKey) if (queue.size > 0) depths[key] = queue.size;
    return depths;
  }

  /** Ready work per requirement; jobs pinned to a worker are left out (another worker would not help them). */
  demand(): Array<{ requirement: readonly string[]; queued: number }> {
    const out: Array<{ requirement: readonly string[]; queued: number }> = [];
    for (const queue of this.byKey.values()) {
      const head = queue.peek();
      if (head !== undefined && head.pinnedWorker === null) out.push({ requirement: head.spec.requirement, queued: queue.size });
    }
    return out;
  }

  /** Places queue heads while they fit; queues are visited by the priority of their heads. */
  pump(workers: Workers, place: (job: Job, workerId: string) => void): void {
    // A second round only when the first moved jobs whose pinned worker died into other queues.
    for (let round = 0; round < 2 && this.pumpOnce(workers, place); round++);
  }

  /** Returns true when it unpinned jobs into queues it may already have visited. */
  private pumpOnce(workers: Workers, place: (job: Job, workerId: string) => void): boolean {
    // Called after every change: most calls find one queue or none, so no array is made for them.
    let only: JobQueue | undefined;
    let several: JobQueue[] | undefined;
    for (const queue of this.byKey.values()) {
      if (queue.size === 0) continue;
      if (only === undefined) only = queue;
      else (several ??= [only]).push(queue);
    }
    if (only === undefined) return false;
    if (several === undefined) return this.placeFrom(only, workers, place);
    let unpinned = false;
    for (const queue of several.sort((a, b) => comparePriority(a.peek(), b.peek()))) {
      if (this.placeFrom(queue, workers, place)) unpinned = true;
    }
    return unpinned;
  }

  /** Places the queue's head while it fits; true when it unpinned jobs into other queues. */
  private placeFrom(queue: JobQueue, workers: Workers, place: (job: Job, workerId: string) => void): boolean {
    let unpinned = false;
    for (let job = queue.peek(); job !== undefined; job = queue.peek()) {
      if (job.pinnedWorker !== null && !workers.isAlive(job.pinnedWorker)) {
        // Affinity holds while the parent's worker lives; after that, any fitting worker will do.
        queue.pop();
        job.pinnedWorker = null;
        this.push(job);
        unpinned = true;
        continue;
      }
      const placement = placeJob(job.spec, workers.all(), job.pinnedWorker);
      if (!placement.placed) break;
      queue.pop();
      workers.hold(placement.workerId, job);
      place(job, placement.workerId);
    }
    return unpinned;
  }

  private queueFor(job: Job): JobQueue {
    const key = keyOf(job);
    let queue = this.byKey.get(key);
    if (queue === undefined) this.byKey.set(key, (queue = new JobQueue()));
    return queue;
  }
}

/**
 * Jobs of one requirement that ask for different resources or drivers queue apart, so a head
 * that fits nowhere yet (16 GiB) never holds back the small jobs behind it.
 */
function keyOf(job: Job): string {
  const key = requirementKey(job.spec.requirement) + shapeKey(job.spec);
  return job.pinnedWorker === null ? key : `${key}@${job.pinnedWorker}`;
}

function comparePriority(a: Job | undefined, b: Job | undefined): number {
  if (a === undefined || b === undefined) return 0;
  return b.spec.priority - a.spec.priority || a.seq - b.seq;
}
