import type { JobView } from '../protocol/views.js';
import { GENERAL } from '../core/requirement.js';

/** Plain-text tables for humans; --json output bypasses all of this. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function duration(ms: number | null): string {
  if (ms === null || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** 512 B, 3.4 KiB, 12.0 MiB, 1.2 GiB. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function jobRuntime(job: JobView): number | null {
  if (job.startedAt === null) return null;
  return (job.finishedAt ?? Date.now()) - job.startedAt;
}

export function describeOutcome(job: JobView): string {
  const base = `job ${job.id} ${job.state}`;
  const exit = job.exitCode !== null ? ` (exit ${job.exitCode})` : job.signal !== null ? ` (${job.signal})` : '';
  const reason = job.reason !== null && job.state !== 'succeeded' ? `: ${job.reason}` : '';
  return `${base}${exit} after ${job.attempt} attempt(s) in ${duration(jobRuntime(job))}${reason}`;
}

/** A worker's tags as placement sees them: GENERAL is implied for every worker, so it is shown first. */
export function workerTags(tags: readonly string[]): string {
  return [GENERAL, ...tags.filter((t) => t !== GENERAL)].join(',');
}

/**
 * What `titan retry` prints: the attempt that runs. The master may already have dispatched the job
 * by the time it answers (its attempt counter then names the new attempt), or it still waits.
 */
export function retryLine(job: Pick<JobView, 'id' | 'state' | 'attempt'>): string {
  const waiting = job.state === 'queued' || job.state === 'pending';
  return waiting ? `job ${job.id} queued again: attempt ${job.attempt + 1} runs next` : `job ${job.id} ${job.state} again: attempt ${job.attempt}`;
}
