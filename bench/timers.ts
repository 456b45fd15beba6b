/**
 * Timer fire skew: 1,000 delayed /bin/true jobs whose due times are spread evenly over 10 s
 * (one every 10 ms), all run for real. Two figures, both on the master's clock:
 * - the timer's lateness: when the master's delay timer fired against the due time it was armed
 *   for (its own count in `titan stats`, one firing per due time here);
 * - the dispatch lateness: when each job was assigned to a worker (its history) against its due
 *   time, which adds any wait for a free slot: on a machine that spawns ~100 processes a second
 *   in all, 100 jobs a second are at its limit and queue behind each other.
 */
import type { TitanClient } from '../src/sdk/client.js';
import { Deadline, percentile, within } from './measure.js';

export interface Skew {
  readonly timer: { readonly fired: number; readonly p50Ms: number | null; readonly p99Ms: number | null; readonly maxMs: number | null };
  readonly dispatch: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number; readonly earliestMs: number };
}

export async function timerSkew(client: TitanClient, count: number, spreadMs: number, limitMs: number): Promise<Skew> {
  const deadline = new Deadline('delayed jobs', limitMs);
  const before = (await client.stats()).timers?.fired ?? 0;
  if (before !== 0) throw new Error(`the master's delay timer already fired ${before} time(s) before this step; its figures would mix them in`);
  const delays = Array.from({ length: count }, (_, i) => ((i + 1) * spreadMs) / count);
  // One batch: every due time is counted from the same acceptance instant.
  const { jobIds } = await client.submitMany(delays.map((ms) => ({ command: '/bin/true', delaySeconds: ms / 1000 })));
  // One wait, on the last job due, while the timers fire: the bench asks the master nothing else meanwhile.
  const lastId = jobIds[jobIds.length - 1];
  if (lastId !== undefined) await within('the last delayed job', deadline.remainingMs, client.wait(lastId));
  const lateness: number[] = [];
  for (const [i, jobId] of jobIds.entries()) {
    deadline.check();
    const view = await within('a delayed job', deadline.remainingMs, client.wait(jobId));
    if (view.state !== 'succeeded') throw new Error(`delayed job ${jobId} ended ${view.state}: ${view.reason ?? ''}`);
    const { events } = await client.history(jobId);
    const assigned = events.find((e) => e.to === 'assigned');
    if (assigned === undefined) throw new Error(`job ${jobId} has no assigned event in its history`);
    lateness.push(assigned.at - (view.submittedAt + (delays[i] ?? 0)));
  }
  const timers = (await client.stats()).timers;
  if (timers === undefined) throw new Error('the master reports no timer figures');
  return {
    timer: { fired: timers.fired, p50Ms: timers.lateMsP50, p99Ms: timers.lateMsP99, maxMs: timers.lateMsMax },
    dispatch: { p50Ms: percentile(lateness, 50), p99Ms: percentile(lateness, 99), maxMs: Math.max(...lateness), earliestMs: Math.min(...lateness) },
  };
}
