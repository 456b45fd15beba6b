/** The peer: the same /bin/true jobs through BullMQ on a local redis-server. */
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { now, within } from './measure.js';
import { spawnTracked, stop } from './procs.js';

const WORKER = fileURLToPath(new URL('./bullmq-worker.js', import.meta.url));

/** BullMQ's shape: worker processes × concurrency each (Titan's is workers × slots). */
export interface BullmqShape {
  readonly processes: number;
  readonly concurrency: number;
}

/**
 * Jobs per second: the bench process adds `count` jobs with queue.addBulk in batches while
 * `shape.processes` fresh worker processes (bench/bullmq-worker.ts) of `shape.concurrency` each
 * spawn /bin/true per job; timed from the first add to the last 'completed' event. BullMQ's
 * defaults otherwise (completed jobs kept).
 *
 * The worker used to run inside the bench process itself, which by then has run every earlier
 * step: Node forks each /bin/true from that large process (page tables copied per spawn) and
 * its garbage collections stall the worker's event loop. Measured in the same minutes (1,000
 * jobs, 1 x 8, load ~15): in-process 85 jobs/s with 600 MB of live objects in the bench process
 * against 154 jobs/s for a fresh worker process; 99-166 against 123-179 with a small bench
 * process. Titan's workers are fresh processes, and so are BullMQ's now.
 */
export async function bullmqThroughput(port: number, count: number, batch: number, shape: BullmqShape, limitMs: number): Promise<number> {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const name = `titan-bench-${shape.processes}x${shape.concurrency}`;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const workers = Array.from({ length: shape.processes }, () => spawnTracked(process.execPath, [WORKER, String(port), name, String(shape.concurrency)]));
  let completed = 0;
  let failed = 0;
  let last = 0;
  let onSettled: () => void = () => undefined;
  const allSettled = new Promise<void>((resolve) => (onSettled = resolve));
  const settle = (): void => {
    last = now();
    if (completed + failed >= count) onSettled();
  };
  events.on('completed', () => {
    completed++;
    settle();
  });
  events.on('failed', () => {
    failed++;
    settle();
  });
  try {
    await within('BullMQ to connect', 20_000, Promise.all([queue.waitUntilReady(), events.waitUntilReady(), ...workers.map((w) => w.line(/ready/, 20_000))]));
    const t0 = now();
    for (let added = 0; added < count;) {
      const size = Math.min(batch, count - added);
      await within('queue.addBulk', limitMs, queue.addBulk(Array.from({ length: size }, (_, i) => ({ name: 'true', data: { n: added + i } }))));
      added += size;
    }
    await within(`BullMQ to complete ${count} jobs`, limitMs, allSettled);
    if (failed > 0) throw new Error(`${failed} of ${count} BullMQ jobs failed (${workers.map((w) => w.tail()).join(' ')})`);
    return count / ((last - t0) / 1000);
  } finally {
    await Promise.all(workers.map((w) => stop(w.child, 'SIGTERM')));
    await within('BullMQ to close', 10_000, Promise.all([events.close(), queue.obliterate({ force: true }).then(() => queue.close())])).catch(() => undefined);
  }
}
