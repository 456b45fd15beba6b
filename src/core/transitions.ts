import { TitanError, ErrorCode } from '../common/errors.js';
import type { Job, JobState } from './job.js';

/**
 * Every move a job may make, in one table. A worker may report a finish before its start report
 * is processed (fast jobs), hence assigned → succeeded/failed.
 */
const ALLOWED: Readonly<Record<JobState, readonly JobState[]>> = {
  // pending → succeeded: a decision-only approval gate is approved.
  pending: ['queued', 'cancelled', 'skipped', 'failed', 'succeeded'],
  queued: ['assigned', 'cancelled', 'failed', 'dead', 'stopped'],
  assigned: ['running', 'queued', 'succeeded', 'failed', 'dead', 'cancelled', 'stopped'],
  running: ['queued', 'succeeded', 'failed', 'dead', 'cancelled', 'stopped'],
  succeeded: [],
  // → pending: a retried decision-only gate asks for a decision again.
  failed: ['queued', 'pending'],
  dead: ['queued'],
  cancelled: ['queued', 'pending'],
  skipped: ['queued', 'pending'],
  stopped: ['queued'],
};

export function canTransition(from: JobState, to: JobState): boolean {
  return ALLOWED[from].includes(to);
}

/** Moves the job, or throws naming both states: an illegal move is a bug, never silently accepted. */
export function transition(job: Job, to: JobState): JobState {
  const from = job.state;
  if (!canTransition(from, to)) {
    throw new TitanError(ErrorCode.ILLEGAL_TRANSITION, `job ${job.id} cannot move from ${from} to ${to}`);
  }
  job.state = to;
  return from;
}
