import type { WorkerReportedJob } from './effects.js';
import type { Job } from './job.js';
import { addUse, asUse, NO_USE, subtractUse, type Capacity, type DriverName } from './resources.js';
import type { WorkerRecord, WorkerResources } from './worker-record.js';

export interface WorkerRegistration {
  readonly id: string;
  readonly host: string;
  readonly tags: readonly string[];
  readonly slots: number;
  readonly resources: WorkerResources;
  /** The drivers it offers; `process` when absent (workers older than drivers). */
  readonly drivers?: readonly DriverName[];
  /** Attempts the worker still holds (running, or finished but not yet acknowledged). */
  readonly holding: readonly WorkerReportedJob[];
}

/** The workers the master knows, what each holds, and what it is expected to bring back after a restart. */
export class Workers {
  private readonly records = new Map<string, WorkerRecord>();
  private readonly expected = new Map<string, Set<string>>();
  private seq = 0;

  get(id: string): WorkerRecord | undefined {
    return this.records.get(id);
  }

  all(): IterableIterator<WorkerRecord> {
    return this.records.values();
  }

  live(): WorkerRecord[] {
    return [...this.records.values()].filter((w) => w.health !== 'dead');
  }

  isAlive(id: string): boolean {
    const worker = this.records.get(id);
    return worker !== undefined && worker.health !== 'dead';
  }

  /** After a master restart: this worker had this job when the master went down. */
  expectBack(workerId: string, jobId: string): void {
    let held = this.expected.get(workerId);
    if (held === undefined) this.expected.set(workerId, (held = new Set()));
    held.add(jobId);
  }

  /** Every job still expected back, forgotten: their workers missed the deadline. */
  abandonExpected(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [workerId, jobs] of this.expected) for (const jobId of jobs) out.push([workerId, jobId]);
    this.expected.clear();
    return out;
  }

  /**
   * A worker (re)registers. Returns the jobs it lost (held by its previous life, not reported now),
   * the attempts it reports that the master does not expect (to kill), what it keeps, and the jobs
   * it was expected to bring back after a master restart but did not.
   */
  register(
    reg: WorkerRegistration,
    now: number,
    isCurrent: (jobId: string, attempt: number) => Job | undefined,
  ): { lost: string[]; stale: WorkerReportedJob[]; adopted: string[]; missing: string[] } {
    const previous = this.records.get(reg.id);
    const reported = new Set(reg.holding.map((h) => h.jobId));
    const lost = previous !== undefined && previous.health !== 'dead' ? [...previous.running].filter((id) => !reported.has(id)) : [];
    const worker: WorkerRecord = {
      id: reg.id,
      host: reg.host,
      tags: new Set(reg.tags),
      slots: Math.max(1, reg.slots),
      resources: reg.resources,
      drivers: new Set(reg.drivers ?? ['process']),
      used: NO_USE,
      reservations: new Map(),
      health: 'healthy',
      running: new Set(),
      lastSeen: now,
      seq: previous?.seq ?? this.seq++,
    };
    this.records.set(reg.id, worker);
    const expected = this.expected.get(reg.id) ?? new Set<string>();
    this.expected.delete(reg.id);
    const stale: WorkerReportedJob[] = [];
    const adopted: string[] = [];
    for (const held of reg.holding) {
      const job = isCurrent(held.jobId, held.attempt);
      if (job !== undefined) {
        this.reserve(worker, held.jobId, asUse(job.spec.resources));
        expected.delete(held.jobId);
        adopted.push(held.jobId);
      } else {
        stale.push(held);
      }
    }
    return { lost, stale, adopted, missing: [...expected].filter((id) => !worker.running.has(id)) };
  }

  heartbeat(workerId: string, now: number): boolean {
    const worker = this.records.get(workerId);
    if (worker === undefined || worker.health === 'dead') return false;
    worker.lastSeen = now;
    return true;
  }

  /** Marks the worker dead and returns the jobs it held. */
  lose(workerId: string): string[] {
    const worker = this.records.get(workerId);
    if (worker === undefined || worker.health === 'dead') return [];
    worker.health = 'dead';
    const held = [...worker.running];
    worker.running.clear();
    worker.reservations.clear();
    worker.used = NO_USE;
    return held;
  }

  /** The worker's connection dropped: it takes no new work. True when it still holds jobs. */
  markUnreachable(workerId: string): boolean {
    const worker = this.records.get(workerId);
    if (worker === undefined || worker.health === 'dead') return false;
    worker.health = 'unreachable';
    return worker.running.size > 0;
  }

  drain(workerId: string): void {
    const worker = this.records.get(workerId);
    if (worker !== undefined && worker.health === 'healthy') worker.health = 'draining';
  }

  /** The job now holds a slot of the worker and the resources it declared. */
  hold(workerId: string, job: Job): void {
    const worker = this.records.get(workerId);
    if (worker !== undefined) this.reserve(worker, job.id, asUse(job.spec.resources));
  }

  release(job: Job): void {
    if (job.workerId === null) return;
    const worker = this.records.get(job.workerId);
    if (worker === undefined) return;
    worker.running.delete(job.id);
    const reserved = worker.reservations.get(job.id);
    if (reserved === undefined) return;
    worker.reservations.delete(job.id);
    worker.used = subtractUse(worker.used, reserved);
  }

  private reserve(worker: WorkerRecord, jobId: string, use: Capacity): void {
    worker.running.add(jobId);
    if (use === NO_USE || worker.reservations.has(jobId)) return;
    worker.reservations.set(jobId, use);
    worker.used = addUse(worker.used, use);
  }
}
