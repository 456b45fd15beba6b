/** Recovery: SIGKILL a master whose store holds the finished jobs plus `queued` more, and time its restart. */
import type { BenchCluster, RestartTiming } from './cluster.js';
import { within } from './measure.js';

export interface RecoveryResult extends RestartTiming {
  /** What the restarted master reports from its store. */
  readonly finishedJobs: number;
  readonly queuedJobs: number;
}

/**
 * With the cluster's finished jobs already in its store: stops the workers, submits `queued` jobs
 * that nothing can take, SIGKILLs the master and starts it again on the same data dir and port.
 */
export async function recoveryAfterKill(cluster: BenchCluster, queued: number, batch: number, limitMs: number): Promise<RecoveryResult> {
  await cluster.killWorkers();
  const client = await cluster.client();
  for (let submitted = 0; submitted < queued;) {
    const size = Math.min(batch, queued - submitted);
    await within('submitting the queued jobs', limitMs, client.submitMany(Array.from({ length: size }, () => ({ command: '/bin/true' }))));
    submitted += size;
  }
  const before = await client.stats();
  if (before.jobs.queued < queued) throw new Error(`expected ${queued} queued jobs before the kill, the master reports ${before.jobs.queued}`);
  await cluster.killMaster();
  const timing = await cluster.restartMasterTimed(limitMs);
  const after = await (await cluster.client()).stats();
  const { succeeded, failed, dead, cancelled, skipped } = after.jobs;
  return { ...timing, finishedJobs: succeeded + failed + dead + cancelled + skipped, queuedJobs: after.jobs.queued };
}
