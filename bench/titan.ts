/** Titan's own figures, measured the way a user of the SDK sees them. */
import type { TitanClient } from '../src/sdk/client.js';
import { Deadline, now, percentile, within } from './measure.js';

const TRUE = { command: '/bin/true' } as const;

export interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function runOne(client: TitanClient): Promise<void> {
  const { jobId } = await client.submit(TRUE);
  const view = await client.wait(jobId);
  if (view.state !== 'succeeded') throw new Error(`job ${jobId} ended ${view.state}: ${view.reason ?? ''}`);
}

/** submit → completion seen by the client, one job at a time, after `warmup` unmeasured ones. */
export async function dispatchLatency(client: TitanClient, count: number, warmup: number, limitMs: number): Promise<Latency> {
  const deadline = new Deadline('Titan dispatch latency', limitMs);
  for (let i = 0; i < warmup; i++) {
    deadline.check();
    await within('a warm-up job', deadline.remainingMs, runOne(client));
  }
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    deadline.check();
    const t0 = now();
    await within('a measured job', deadline.remainingMs, runOne(client));
    samples.push(now() - t0);
  }
  return { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
}

export interface PushResult {
  readonly jobsPerS: number;
  readonly seconds: number;
}

/**
 * Pushes `count` jobs (/bin/true unless `submit` says otherwise): submitMany in batches, a wait() per job started right after its
 * batch is accepted; timed from the first submit to the last completion the client sees.
 * At most `window` jobs are unfinished at once, so a long run is a steady load, not one huge queue.
 */
export async function pushJobs(
  client: TitanClient,
  count: number,
  batch: number,
  window: number,
  limitMs: number,
  submit: (size: number) => Promise<{ jobIds: string[] }> = (size) => client.submitMany(Array.from({ length: size }, () => TRUE)),
): Promise<PushResult> {
  const deadline = new Deadline(`pushing ${count} Titan jobs`, limitMs);
  const waits = new Set<Promise<void>>();
  let failed = 0;
  let submitted = 0;
  const t0 = now();
  let last = t0;
  while (submitted < count) {
    deadline.check();
    while (waits.size + batch > window && waits.size > 0) await within('a window of jobs', deadline.remainingMs, Promise.race(waits));
    const size = Math.min(batch, count - submitted);
    const { jobIds } = await within('submitMany', deadline.remainingMs, submit(size));
    submitted += size;
    for (const jobId of jobIds) {
      const wait: Promise<void> = client.wait(jobId).then(
        (view) => {
          if (view.state !== 'succeeded') failed++;
          last = now();
          waits.delete(wait);
        },
        () => {
          failed++;
          waits.delete(wait);
        },
      );
      waits.add(wait);
    }
  }
  await within('the last jobs', deadline.remainingMs, Promise.all(waits));
  if (failed > 0) throw new Error(`${failed} of ${count} Titan jobs did not succeed`);
  const seconds = (last - t0) / 1000;
  return { jobsPerS: count / seconds, seconds };
}
