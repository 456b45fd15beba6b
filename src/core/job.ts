/** The job: what to run, where it may run, and where it is in its life. */

export const JOB_STATES = [
  'pending',
  'queued',
  'assigned',
  'running',
  'succeeded',
  'failed',
  'dead',
  'cancelled',
  'skipped',
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const FINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'dead', 'cancelled', 'skipped']);

export function isFinal(state: JobState): boolean {
  return FINAL_STATES.has(state);
}

/** What the process is: a script staged in the artifact store, or a command line. */
export type JobRun =
  | { kind: 'script'; fileName: string; artifact: string }
  | { kind: 'command'; command: string };

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
}

export interface JobOutcome {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly durationMs: number;
  /** The worker could not start the process (missing interpreter, bad file). */
  readonly error?: string;
}
