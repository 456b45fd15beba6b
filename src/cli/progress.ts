import type { JobState } from '../core/job.js';
import { duration } from './format.js';

/** Where the jobs of a run stand; every job is in exactly one count. */
export interface ProgressCounts {
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly skipped: number;
  readonly running: number;
  readonly queued: number;
}

const BUCKET: Record<JobState, keyof Omit<ProgressCounts, 'total'>> = {
  pending: 'queued',
  queued: 'queued',
  assigned: 'running',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  dead: 'failed',
  cancelled: 'cancelled',
  stopped: 'cancelled',
  skipped: 'skipped',
};

export function countJobs(jobs: ReadonlyArray<{ readonly state: JobState }>): ProgressCounts {
  const counts = { total: jobs.length, succeeded: 0, failed: 0, cancelled: 0, skipped: 0, running: 0, queued: 0 };
  for (const job of jobs) counts[BUCKET[job.state]] += 1;
  return counts;
}

const finished = (c: ProgressCounts): number => c.succeeded + c.failed + c.cancelled + c.skipped;

/** "3 failed · 2 skipped": the counts that are not zero, in a fixed order. */
function tally(c: ProgressCounts, keys: ReadonlyArray<keyof Omit<ProgressCounts, 'total'>>): string {
  return keys
    .filter((k) => c[k] > 0)
    .map((k) => `${c[k]} ${k}`)
    .join(' · ');
}

/** The live line drawn over itself on a terminal: a bar of finished jobs, the counts, the time. */
export function progressLine(c: ProgressCounts, elapsedMs: number, barWidth = 20): string {
  const share = c.total === 0 ? 1 : finished(c) / c.total;
  const filled = Math.round(share * barWidth);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`;
  const rest = tally(c, ['running', 'queued', 'failed', 'cancelled', 'skipped']);
  return `${bar} ${c.succeeded}/${c.total} done${rest === '' ? '' : ` · ${rest}`} · ${duration(elapsedMs)}`;
}

/**
 * The run's coarse state, the only thing that makes a new line on a pipe: waiting (nothing has
 * started), running, running with failures, then the run's final state. A thousand jobs moving
 * through the same state print nothing new.
 */
export function runPhase(runState: string, c: ProgressCounts): string {
  if (runState !== 'running') return runState;
  const bad = c.failed + c.cancelled > 0 ? ', with failures' : '';
  if (c.running === 0 && finished(c) === 0) return `waiting${bad}`;
  return `running${bad}`;
}

/** One line of the pipe form: the phase and the counts when it began. */
export function phaseLine(what: string, phase: string, c: ProgressCounts, elapsedMs: number): string {
  const rest = tally(c, ['running', 'queued', 'failed', 'cancelled', 'skipped']);
  return `${what}: ${phase} (${c.succeeded}/${c.total} done${rest === '' ? '' : `, ${rest.replaceAll(' · ', ', ')}`}; ${duration(elapsedMs)})`;
}

/** The closing line of a run: every count that is not zero, and how long it took. */
export function summaryLine(c: ProgressCounts, elapsedMs: number): string {
  const parts = tally(c, ['succeeded', 'failed', 'cancelled', 'skipped', 'running', 'queued']);
  return `${parts === '' ? 'no jobs' : parts} in ${duration(elapsedMs)}`;
}
