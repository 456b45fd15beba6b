/** The peer: the same /bin/true jobs through BullMQ on a local redis-server. */
import { Queue, Worker } from 'bullmq';
import { spawnTrue } from './floor.js';
import { now, within } from './measure.js';

/**
 * Jobs per second: a producer adds `count` jobs with queue.addBulk in batches, a Worker of
 * `concurrency` in this process spawns /bin/true per job and awaits its exit; timed from the
 * first add to the last 'completed' event. BullMQ's defaults otherwise (completed jobs kept).
 */
export async function bullmqThroughput(port: number, count: number, batch: number, concurrency: number, limitMs: number): Promise<number> {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const name = 'titan-bench';
  const queue = new Queue(name, { connection });
  let completed = 0;
  let failed = 0;
  let last = 0;
  let onSettled: () => void = () => undefined;
  const allSettled = new Promise<void>((resolve) => (onSettled = resolve));
  const settle = (): void => {
    last = now();
    if (completed + failed >= count) onSettled();
  };
  const worker = new Worker(name, () => spawnTrue(), { connection, concurrency });
  worker.on('completed', () => {
    completed++;
    settle();
  });
  worker.on('failed', () => {
    failed++;
    settle();
  });
  const errors: string[] = [];
  worker.on('error', (err) => errors.push(err.message));
  queue.on('error', (err) => errors.push(err.message));
  try {
    await within('BullMQ to connect', 10_000, Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]));
    const t0 = now();
    for (let added = 0; added < count; ) {
      const size = Math.min(batch, count - added);
      await within('queue.addBulk', limitMs, queue.addBulk(Array.from({ length: size }, (_, i) => ({ name: 'true', data: { n: added + i } }))));
      added += size;
    }
    await within(`BullMQ to complete ${count} jobs`, limitMs, allSettled);
    if (failed > 0) throw new Error(`${failed} of ${count} BullMQ jobs failed${errors.length > 0 ? ` (${errors[0]})` : ''}`);
    return count / ((last - t0) / 1000);
  } finally {
    await within('BullMQ to close', 10_000, Promise.all([worker.close(true), queue.close()])).catch(() => undefined);
  }
}
