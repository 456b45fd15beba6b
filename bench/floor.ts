/** The floor: what Node itself needs to run /bin/true, with nothing of Titan around it. */
import { spawn } from 'node:child_process';
import { Deadline, now, percentile } from './measure.js';

const TRUE = '/bin/true';

/** One spawn of /bin/true, resolved on 'exit' (rejects on spawn error or non-zero exit). */
export function spawnTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(TRUE);
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${TRUE} exited ${String(code)}`))));
  });
}

export interface FloorLatency {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** count sequential spawns after `warmup` unmeasured ones; spawn → 'exit' each. */
export async function floorLatency(count: number, warmup: number, limitMs: number): Promise<FloorLatency> {
  const deadline = new Deadline('spawn floor latency', limitMs);
  for (let i = 0; i < warmup; i++) {
    deadline.check();
    await spawnTrue();
  }
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    deadline.check();
    const t0 = now();
    await spawnTrue();
    samples.push(now() - t0);
  }
  return { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
}

/** count spawns with inFlight running at once in this one process; returns spawns per second. */
export async function floorThroughput(count: number, inFlight: number, limitMs: number): Promise<number> {
  const deadline = new Deadline('spawn floor throughput', limitMs);
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < count) {
      deadline.check();
      started++;
      await spawnTrue();
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  return count / ((now() - t0) / 1000);
}
