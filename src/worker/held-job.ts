import type { JobFinishedReport } from '../protocol/messages.js';
import type { Logger } from '../common/log.js';
import type { OutputBacklog } from './output-backlog.js';
import type { RunningJob, SpawnInfo } from './executor.js';
import type { PidRegistry } from './pid-registry.js';
import type { ServiceSupervisor } from './service-supervisor.js';

/** One attempt a worker holds, from its dispatch until the master acknowledged its report. */
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
  /** Killed because the worker's lease ran out (docs/RELIABILITY.md). */
  leaseExpired: boolean;
  /** The master refused its finish report (its disk full): heartbeats list it until it is taken. */
  reportRefused: boolean;
  /** Its DAG run's shared folder is in use while it is held. */
  readonly dagId?: string;
  /** What it printed while the worker had no master, sent after the next registration. */
  readonly backlog: OutputBacklog;
}

/** Where a held service is, for a master that restarted and lost track of it. */
export function serviceState(service: ServiceSupervisor | null): { port?: number; ready?: boolean } {
  if (service === null) return {};
  const port = service.port;
  return port !== undefined ? { port, ready: service.ready } : { ready: service.ready };
}

/** The worker's lease ran out: its attempts die now, before the master may run them elsewhere. */
export function killForLapsedLease(attempts: readonly HeldJob[]): void {
  for (const held of attempts) {
    held.leaseExpired = true;
    held.service?.stop('SIGKILL');
    held.process?.kill('SIGKILL');
  }
}

export function recordPid(pids: PidRegistry, held: HeldJob, info: SpawnInfo, log: Logger): void {
  pids.add({ pid: info.pid, pgid: info.pgid, jobId: held.jobId, attempt: held.attempt, startedAt: info.startedAt }).catch((err: unknown) => {
    log.error(
      { jobId: held.jobId, attempt: held.attempt, pid: info.pid, err },
      'could not record the job in the pid registry; a crash now would leave it running',
    );
  });
}

/**
 * The report does not wait for this write: a stale entry only makes the next start check a
 * process that is gone (or no longer ours, by its start time) and leave it alone.
 */
export function forgetPid(pids: PidRegistry, held: HeldJob, pid: number, log: Logger): void {
  pids.remove(pid).catch((err: unknown) => log.warn({ jobId: held.jobId, attempt: held.attempt, pid, err }, 'could not remove the job from the pid registry'));
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
