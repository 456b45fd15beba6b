/** Where each running service answers, as its worker reported it; rebuilt from registrations after a restart. */
export interface ServiceEndpoint {
  readonly workerId: string;
  readonly host: string;
  readonly port: number;
  pid: number;
  restarts: number;
  readyAt: number | null;
  /** When the supervisor last restarted the process (its uptime counts from here); null: since the job started. */
  restartedAt: number | null;
}

export class ServiceDirectory {
  private readonly endpoints = new Map<string, ServiceEndpoint>();

  get(jobId: string): ServiceEndpoint | undefined {
    return this.endpoints.get(jobId);
  }

  ready(jobId: string, endpoint: Omit<ServiceEndpoint, 'restarts' | 'restartedAt'>): void {
    const previous = this.endpoints.get(jobId);
    const sameWorker = previous?.workerId === endpoint.workerId && previous.port === endpoint.port;
    this.endpoints.set(jobId, { ...endpoint, restarts: sameWorker ? previous.restarts : 0, restartedAt: sameWorker ? previous.restartedAt : null });
  }

  restarted(jobId: string, restarts: number, pid: number, now: number): void {
    const endpoint = this.endpoints.get(jobId);
    if (endpoint === undefined) return;
    endpoint.restarts = restarts;
    endpoint.restartedAt = now;
    endpoint.pid = pid;
    endpoint.readyAt = null;
  }

  forget(jobId: string): void {
    this.endpoints.delete(jobId);
  }
}

/** A dependant finds a service as TITAN_SERVICE_<ID>_URL and _PORT in its environment. */
export function serviceEnvName(key: string): string {
  return key.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}
