/**
 * The worker's janitor: on a short period, whether or not the master is reachable, it kills what
 * should not run any more. An attempt past its timeout whose process outlived the executor's own
 * stop (SIGTERM, grace, SIGKILL) is killed with its cgroup; a process group in the pid registry
 * whose attempt this worker no longer holds is killed and forgotten. Each action is a structured
 * log line with `event: "janitor"`.
 */
import type { Logger } from '../common/log.js';
import type { RunningJob } from './executor.js';
import { readStartTicks, type PidRegistry } from './pid-registry.js';

export interface JanitorView {
  readonly jobId: string;
  readonly attempt: number;
  readonly process: RunningJob | null;
  /** Milliseconds since the epoch after which the attempt must be gone (timeout + kill grace); null without a timeout. */
  readonly deadline: number | null;
  /** Still running: no finish report yet. */
  readonly running: boolean;
}

export class WorkerJanitor {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly held: () => Iterable<JanitorView>,
    private readonly pids: PidRegistry,
    private readonly log: Logger,
    private readonly intervalMs = 1_000,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.sweep(Date.now()), this.intervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  sweep(now: number): void {
    const attempts = new Set<string>();
    for (const view of this.held()) {
      attempts.add(`${view.jobId}#${view.attempt}`);
      if (view.running && view.process !== null && view.deadline !== null && now > view.deadline) {
        this.log.warn(
          { event: 'janitor', action: 'kill-overdue', jobId: view.jobId, attempt: view.attempt, pid: view.process.pid },
          'janitor: the job outlived its timeout and kill grace; killing its process tree',
        );
        view.process.kill('SIGKILL');
      }
    }
    for (const entry of this.pids.entries()) {
      if (attempts.has(`${entry.jobId}#${entry.attempt}`)) continue;
      // Same process only if the kernel's start time still matches: a pid may have been reused.
      const ticks = readStartTicks(entry.pid);
      const ours = ticks !== undefined && (entry.startTicks === undefined || entry.startTicks === ticks);
      if (ours) {
        try {
          process.kill(-entry.pgid, 'SIGKILL');
          this.log.warn(
            { event: 'janitor', action: 'kill-orphan', jobId: entry.jobId, attempt: entry.attempt, pid: entry.pid },
            'janitor: killed a process group whose job this worker no longer holds',
          );
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH')
            this.log.warn({ jobId: entry.jobId, pid: entry.pid, err }, 'janitor could not kill an orphaned process group');
        }
      }
      this.pids
        .remove(entry.pid)
        .catch((err: unknown) => this.log.warn({ jobId: entry.jobId, pid: entry.pid, err }, 'could not remove the job from the pid registry'));
    }
  }
}
