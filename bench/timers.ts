/**
 * Timer fire skew: 1,000 delayed /bin/true jobs whose due times are spread evenly over 10 s.
 * A job's lateness is the time the master assigned it to a worker (its history's `assigned`
 * event) minus its due time (accepted at + delay), both on the master's clock, so what is
 * measured is the timer heap and the dispatch behind it, not the client or the process spawn.
 */
import type { TitanClient } from '../src/sdk/client.js';
import { Deadline, percentile, within } from './measure.js';

export interface Skew {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly earliestMs: number;
}

export async function timerSkew(client: TitanClient, count: number, spreadMs: number, limitMs: number): Promise<Skew> {
  const deadline = new Deadline('delayed jobs', limitMs);
  const delays = Array.from({ length: count }, (_, i) => ((i + 1) * spreadMs) / count);
  // One batch: every due time is counted from the same acceptance instant.
  const { jobIds } = await client.submitMany(delays.map((ms) => ({ command: '/bin/true', delaySeconds: ms / 1000 })));
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
  return { p50Ms: percentile(lateness, 50), p99Ms: percentile(lateness, 99), maxMs: Math.max(...lateness), earliestMs: Math.min(...lateness) };
}
