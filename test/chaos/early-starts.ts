import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Workload } from './workload.js';

/**
 * DAG jobs that started before a parent completed. A job writes `<job id>.early` naming each
 * parent whose `.done` was missing when it started; that counts only when the parent went on to
 * succeed. A sink (trigger rule `all_done`) rightly runs after a parent that ended dead, failed or
 * skipped, which never writes `.done`: those are noted, not counted.
 */
export async function countEarlyStarts(workload: Workload, notes: string[]): Promise<number> {
  let early = 0;
  for (const file of readdirSync(workload.ledger).filter((f) => f.endsWith('.early'))) {
    const jobId = file.slice(0, -'.early'.length);
    const dagId = jobId.slice(0, jobId.lastIndexOf('.'));
    const parents = readFileSync(join(workload.ledger, file), 'utf8').match(/parent (\S+) not done/g) ?? [];
    for (const line of parents) {
      const parent = `${dagId}.${line.split(' ')[1]}`;
      const state = await workload.call(async (c) => (await c.status(parent)).state);
      if (state === 'succeeded') {
        early++;
        notes.push(`${jobId} started before its parent ${parent} completed`);
      } else notes.push(`${jobId} ran after its parent ${parent} ended ${String(state)} (trigger rule all_done)`);
    }
  }
  return early;
}
