import { ErrorCode, TitanError } from '../common/errors.js';
import { JOB_STATES, type Job, type JobEvent, type JobSpec, type JobState } from '../core/job.js';

/** A `jobs` row as SQLite hands it back; the column names are the bind parameter names too. */
export interface JobRow {
  id: string;
  seq: number;
  state: string;
  attempt: number;
  worker_id: string | null;
  submitted_at: number;
  started_at: number | null;
  finished_at: number | null;
  exit_code: number | null;
  signal: string | null;
  reason: string | null;
  spec: string;
  dag_id: string | null;
  not_before: number | null;
  pinned_worker: string | null;
  crashes: number;
  attempt_base: number;
  service_ready: number;
}

export interface EventRow {
  job_id: string;
  at: number;
  from_state: string | null;
  to_state: string;
  attempt: number;
  worker_id: string | null;
  detail: string | null;
}

// A spec never changes after submission and the master writes the same job many times over its
// life, so each spec object is serialised once. This relies on JobSpec being treated as
// immutable (its fields are readonly), as the rest of the code base does.
const specJson = new WeakMap<JobSpec, string>();

function serialiseSpec(spec: JobSpec): string {
  let json = specJson.get(spec);
  if (json === undefined) {
    json = JSON.stringify(spec);
    specJson.set(spec, json);
  }
  return json;
}

export function jobToRow(job: Job): JobRow {
  return {
    id: job.id,
    seq: job.seq,
    state: job.state,
    attempt: job.attempt,
    worker_id: job.workerId,
    submitted_at: job.submittedAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
    exit_code: job.exitCode,
    signal: job.signal,
    reason: job.reason,
    spec: serialiseSpec(job.spec),
    dag_id: job.spec.dagId ?? null,
    not_before: job.notBefore,
    pinned_worker: job.pinnedWorker,
    crashes: job.crashes,
    attempt_base: job.attemptBase,
    service_ready: job.serviceReady ? 1 : 0,
  };
}

export function rowToJob(row: JobRow): Job {
  return {
    id: row.id,
    spec: parseSpec(row.id, row.spec),
    state: parseState(row.state, `job "${row.id}"`),
    attempt: row.attempt,
    workerId: row.worker_id,
    submittedAt: row.submitted_at,
    seq: row.seq,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    exitCode: row.exit_code,
    signal: row.signal,
    reason: row.reason,
    notBefore: row.not_before,
    pinnedWorker: row.pinned_worker,
    crashes: row.crashes,
    attemptBase: row.attempt_base,
    serviceReady: row.service_ready === 1,
  };
}

export function eventToRow(event: JobEvent): EventRow {
  return {
    job_id: event.jobId,
    at: event.at,
    from_state: event.from,
    to_state: event.to,
    attempt: event.attempt,
    worker_id: event.workerId,
    detail: event.detail,
  };
}

export function rowToEvent(row: EventRow): JobEvent {
  const where = `an event of job "${row.job_id}"`;
  return {
    jobId: row.job_id,
    at: row.at,
    from: row.from_state === null ? null : parseState(row.from_state, where),
    to: parseState(row.to_state, where),
    attempt: row.attempt,
    workerId: row.worker_id,
    detail: row.detail,
  };
}

const KNOWN_STATES: ReadonlySet<string> = new Set(JOB_STATES);

export function parseState(value: string, where: string): JobState {
  if (!KNOWN_STATES.has(value)) throw corrupt(`${where} has an unknown state "${value}"`);
  return value as JobState;
}

/**
 * The spec was validated by the submission schema before it was first written, and this file
 * is our own, so reading it back checks only its outline: a full re-validation would slow every
 * start, and a schema that strips keys would lose fields a newer minor version added.
 */
function parseSpec(jobId: string, json: string): JobSpec {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw corrupt(`job "${jobId}" has a spec that is not valid JSON (${(err as Error).message})`);
  }
  if (!isSpecOutline(value)) throw corrupt(`job "${jobId}" has a spec that is not a job spec: ${json.slice(0, 200)}`);
  return value;
}

function isSpecOutline(value: unknown): value is JobSpec {
  if (typeof value !== 'object' || value === null) return false;
  const spec = value as Record<string, unknown>;
  const run = spec['run'] as Record<string, unknown> | null | undefined;
  return (
    typeof spec['name'] === 'string' &&
    typeof run === 'object' &&
    run !== null &&
    (run['kind'] === 'script' || run['kind'] === 'command') &&
    Array.isArray(spec['args']) &&
    Array.isArray(spec['requirement'])
  );
}

function corrupt(what: string): TitanError {
  return new TitanError(ErrorCode.INTERNAL, `the store is corrupt: ${what}. Restore the state directory from a backup, or fix the row by hand.`);
}
