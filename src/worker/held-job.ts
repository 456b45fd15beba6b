import type { JobFinishedReport } from '../protocol/messages.js';
import type { RunningJob } from './executor.js';
import type { ServiceSupervisor } from './service-supervisor.js';

/** An attempt this worker holds: running, or finished with its report not yet acknowledged. */
export interface HeldJob {
  readonly jobId: string;
  readonly attempt: number;
  process: RunningJob | null;
  /** Set for a service: it runs under a supervisor that restarts it by its policy. */
  service: ServiceSupervisor | null;
  /** Set once the attempt ended; kept until the master acknowledged it. */
  report: JobFinishedReport | null;
  /** When the attempt must be gone by (its timeout and the kill grace); null without a timeout. */
  deadline: number | null;
  /** Its DAG run's shared folder is in use while it is held. */
  readonly dagId?: string;
}

/** Where a held service is, for a master that restarted and lost track of it. */
export function serviceState(service: ServiceSupervisor | null): { port?: number; ready?: boolean } {
  if (service === null) return {};
  const port = service.port;
  return port !== undefined ? { port, ready: service.ready } : { ready: service.ready };
}

/** Job and DAG ids whose folders the held attempts use (the workspace sweeper leaves them). */
export function foldersInUse(held: Iterable<HeldJob>): Set<string> {
  const ids = new Set<string>();
  for (const h of held) {
    ids.add(h.jobId);
    if (h.dagId !== undefined) ids.add(h.dagId);
  }
  return ids;
}
