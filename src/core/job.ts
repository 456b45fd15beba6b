/** The job: what to run, where it may run, and where it is in its life. */
import type { DriverName, JobResources } from './resources.js';

export const JOB_STATES = ['pending', 'queued', 'assigned', 'running', 'succeeded', 'failed', 'dead', 'cancelled', 'skipped', 'stopped'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const FINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'dead', 'cancelled', 'skipped', 'stopped']);

export function isFinal(state: JobState): boolean {
  return FINAL_STATES.has(state);
}

/** What the process is: a script staged in the artifact store, or a command line. */
export type JobRun = { kind: 'script'; fileName: string; artifact: string } | { kind: 'command'; command: string };

export type TriggerRule = 'all_success' | 'all_done' | 'one_failed';

export interface RetryBackoff {
  readonly type: 'fixed' | 'exponential';
  readonly delaySeconds: number;
  readonly maxSeconds: number;
}

/** A long-running process kept alive by its worker's supervisor. */
export interface ServiceSpec {
  /** null: the worker picks a free port. */
  readonly port: number | null;
  readonly restart: 'always' | 'on-failure' | 'never';
  readonly maxRestarts: number;
  readonly windowSeconds: number;
  readonly readinessPath?: string;
}

export interface JobSpec {
  readonly name: string;
  readonly run: JobRun;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Tags a worker must all carry; `GENERAL` when nothing else is asked. */
  readonly requirement: readonly string[];
  /** Higher runs first. */
  readonly priority: number;
  /** Attempts after the first. */
  readonly retries: number;
  /** Seconds; 0 means no limit. */
  readonly timeoutSeconds: number;
  /** Content address of a folder archive hydrated into the workspace before the script. */
  readonly bundle?: string;
  /** The DAG run this job belongs to, and the ids of its parents there. */
  readonly dagId?: string;
  readonly parents?: readonly string[];
  /** When a job with parents runs: default all_success. */
  readonly triggerRule?: TriggerRule;
  /** Run on the worker that ran the first parent, while that worker lives. */
  readonly affinity?: boolean;
  readonly retryBackoff?: RetryBackoff;
  /** Seconds between becoming ready and being queued. */
  readonly delaySeconds?: number;
  /** Not queued before this wall-clock time (epoch ms), whatever its delay. */
  readonly runAt?: number;
  /** A job of the same DAG that runs if this one fails; the failure then does not fail the DAG. */
  readonly onFailure?: string;
  /**
   * A person must approve the job before it runs; 0 s means no deadline. A decision-only job (the
   * gate after an original-Titan `hitl_message` job) runs nothing: approving it succeeds it.
   */
  readonly approval?: { readonly message: string; readonly timeoutSeconds: number; readonly decisionOnly?: boolean };
  /** Set for services: the job runs until stopped, and counts as done for its children once ready. */
  readonly service?: ServiceSpec;
  /** CPU, memory and GPUs reserved on the worker while the job holds it, and enforced there. */
  readonly resources?: JobResources;
  /** How the worker runs it (default: the worker's own driver); only workers offering it take the job. */
  readonly driver?: DriverName;
  /** `none`: no network inside the sandbox or container (default `host`). */
  readonly network?: 'host' | 'none';
  /** The container image, for the docker driver. */
  readonly image?: string;
  /** Who submitted it: the job's own token acts on their behalf (docs/SECURITY.md, workload tokens). */
  readonly owner?: JobOwner;
}

/** The submitter a job acts for: its name, the API token it came with, and that token's namespace. */
export interface JobOwner {
  readonly name: string;
  readonly tokenId?: string;
  readonly namespace?: string;
}

export interface Job {
  readonly id: string;
  readonly spec: JobSpec;
  state: JobState;
  /** 0 before the first dispatch; every dispatch increments it and fences older reports. */
  attempt: number;
  workerId: string | null;
  readonly submittedAt: number;
  /** Insertion order, so equal priorities run first-in first-out. */
  readonly seq: number;
  startedAt: number | null;
  finishedAt: number | null;
  exitCode: number | null;
  signal: string | null;
  /** Why the job ended the way it did, in words a user can act on. */
  reason: string | null;
  /** Not dispatched before this time (delays and retry backoff); while awaiting approval, its deadline. */
  notBefore: number | null;
  /** Affinity: the worker this job must run on while it lives. */
  pinnedWorker: string | null;
  /** Times the job's worker was lost while running it; too many marks a poison pill. */
  crashes: number;
  /** Attempts before the last manual retry; the retry budget counts from here. */
  attemptBase: number;
  /** A service that has been ready once: its outcome has been passed to its children and DAG. */
  serviceReady: boolean;
}

export interface JobOutcome {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly durationMs: number;
  /** The worker could not start the process (missing interpreter, bad file). */
  readonly error?: string;
  /** The kernel killed it for using more memory than its limit. */
  readonly oom?: boolean;
}

/** A job as it is on submission: nothing run yet. */
export function newJob(id: string, spec: JobSpec, seq: number, now: number, state: JobState = 'queued'): Job {
  return {
    id,
    spec,
    state,
    attempt: 0,
    workerId: null,
    submittedAt: now,
    seq,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    signal: null,
    reason: null,
    notBefore: null,
    pinnedWorker: null,
    crashes: 0,
    attemptBase: 0,
    serviceReady: false,
  };
}

/** One entry of a job's history: a transition with its cause. */
export interface JobEvent {
  readonly jobId: string;
  readonly at: number;
  readonly from: JobState | null;
  readonly to: JobState;
  readonly attempt: number;
  readonly workerId: string | null;
  readonly detail: string | null;
}
