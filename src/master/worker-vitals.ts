/** What each worker's heartbeat says of its machine (load average, free memory), for the dashboard. */
export interface WorkerVitalsEntry {
  readonly load1: number | null;
  readonly freeMemoryMb: number | null;
  readonly at: number;
}

export class WorkerVitals {
  private readonly entries = new Map<string, WorkerVitalsEntry>();

  record(workerId: string, load1: number | undefined, freeMemoryMb: number | undefined, at: number): void {
    this.entries.set(workerId, { load1: load1 ?? null, freeMemoryMb: freeMemoryMb ?? null, at });
  }

  get(workerId: string): WorkerVitalsEntry | undefined {
    return this.entries.get(workerId);
  }

  forget(workerId: string): void {
    this.entries.delete(workerId);
  }
}
