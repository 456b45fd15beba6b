import type { WorkerReportedJob } from './effects.js';
import type { Job } from './job.js';
import type { WorkerRecord, WorkerResources } from './worker-record.js';

export interface WorkerRegistration {
  readonly id: string;
  readonly host: string;
  readonly tags: readonly string[];
  readonly slots: number;
  readonly resources: WorkerResources;
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
  register(reg: WorkerRegistration, now: number, isCurrent: (jobId: string, attempt: number) => boolean): { lost: string[]; stale: WorkerReportedJob[]; adopted: string[]; missing: string[] } {
    const previous = this.records.get(reg.id);
    const reported = new Set(reg.holding.map((h) => h.jobId));
    const lost = previous !== undefined && previous.health !== 'dead' ? [...previous.running].filter((id) => !reported.has(id)) : [];
    const worker: WorkerRecord = {
      id: reg.id,
      host: reg.host,
      tags: new Set(reg.tags),
      slots: Math.max(1, reg.slots),
      resources: reg.resources,
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
      if (isCurrent(held.jobId, held.attempt)) {
        worker.running.add(held.jobId);
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
    return held;
  }

  drain(workerId: string): void {
    const worker = this.records.get(workerId);
    if (worker !== undefined && worker.health === 'healthy') worker.health = 'draining';
  }

  hold(workerId: string, jobId: string): void {
    this.records.get(workerId)?.running.add(jobId);
  }

  release(job: Job): void {
    if (job.workerId !== null) this.records.get(job.workerId)?.running.delete(job.id);
  }
}
