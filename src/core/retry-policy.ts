import type { Job, RetryBackoff } from './job.js';

const DEFAULT_BACKOFF: RetryBackoff = { type: 'fixed', delaySeconds: 0, maxSeconds: 300 };

/** Attempts used since the last manual retry. */
export function attemptsUsed(job: Job): number {
  return job.attempt - job.attemptBase;
}

export function hasRetriesLeft(job: Job): boolean {
  return attemptsUsed(job) <= job.spec.retries;
}

/** Milliseconds to wait before the next attempt, after `failedAttempts` failures in a row. */
export function backoffMs(backoff: RetryBackoff | undefined, failedAttempts: number): number {
  const policy = backoff ?? DEFAULT_BACKOFF;
  const base = policy.type === 'exponential' ? policy.delaySeconds * 2 ** Math.max(0, failedAttempts - 1) : policy.delaySeconds;
  return Math.round(Math.min(base, policy.maxSeconds) * 1000);
}
