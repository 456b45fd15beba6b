/** What the executor is asked to run and what it reports: the shapes the worker and its drivers share. */
import type { JobRun } from '../core/job.js';
import type { DriverName, JobResources } from '../core/resources.js';
import type { OutputLine } from './output-lines.js';

export interface StartRequest {
  readonly jobId: string;
  readonly attempt: number;
  readonly run: JobRun;
  readonly args: readonly string[];
  /** The complete environment of the process; the caller has merged it already. */
  readonly env: Readonly<Record<string, string>>;
  /** The job's folder and working directory; created when missing. */
  readonly workspace: string;
  /** Stop the process after this long; 0 or absent means no limit. */
  readonly timeoutMs?: number;
  /** Receives output lines in order, in batches. Called synchronously from stream events. */
  readonly onLines?: (lines: OutputLine[]) => void;
  /** Limits enforced by the kernel (cgroups or rlimits) where the worker can. */
  readonly resources?: JobResources;
  /** `sandbox` runs the job in namespaces (bwrap); default `process`. */
  readonly driver?: DriverName;
  readonly network?: 'host' | 'none';
  /** Folders besides the workspace the job may write inside a sandbox (its DAG's shared folder). */
  readonly writable?: readonly string[];
  /** The identity the job runs as (a root worker's unprivileged job user); absent: the worker's own. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

export interface JobResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly durationMs: number;
  /** The process could not be started; the text names the problem and the fix. */
  readonly error?: string;
  readonly timedOut: boolean;
  /** The kernel killed it for going over its memory limit. */
  readonly oom?: boolean;
}

export interface SpawnInfo {
  readonly pid: number;
  /** The process group the job and its descendants run in (equal to pid: spawned detached). */
  readonly pgid: number;
  /** Milliseconds since the epoch, taken right after spawn. */
  readonly startedAt: number;
  /** The cgroup.procs files of the job's cgroups, when it has any (nothing leaves a cgroup). */
  readonly cgroupProcs?: readonly string[];
}

export interface RunningJob {
  readonly jobId: string;
  readonly attempt: number;
  readonly pid: number | undefined;
  /** Resolves once the process started, or with null when it never did. */
  readonly spawned: Promise<SpawnInfo | null>;
  /** Resolves after the process exited, its output closed and both log files are flushed. */
  readonly done: Promise<JobResult>;
  /** SIGTERM to the whole group, SIGKILL after the grace period; idempotent. SIGKILL is immediate. */
  kill(signal?: NodeJS.Signals): void;
}
