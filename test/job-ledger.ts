/**
 * Jobs that keep their own ledger, for fault tests: each records that it started (per attempt) and
 * appends a line to its marker file when it completes, so a second completion shows.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './harness.js';

/** Live processes (not zombies) whose environment says they belong to one of these jobs' given attempt. */
export function processesOf(jobIds: readonly string[], attempt: number): number[] {
  const wanted = new Set(jobIds);
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let vars: string[];
    try {
      vars = readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
    } catch {
      continue;
    }
    const jobId = vars.find((v) => v.startsWith('TITAN_JOB_ID='))?.slice(13);
    if (jobId !== undefined && wanted.has(jobId) && vars.includes(`TITAN_ATTEMPT=${attempt}`)) found.push(Number(name));
  }
  return found;
}

/** Each job records its pids (and its setsid grandchild's) per attempt, and appends a line to its marker when it completes. */
export function workload(dir: string, seconds: number): Array<{ command: string }> {
  const pids = join(dir, 'pids');
  const markers = join(dir, 'markers');
  // World-writable with the sticky bit: a root worker's jobs run as titan-job.
  for (const folder of [pids, markers]) {
    mkdirSync(folder, { recursive: true });
    chmodSync(folder, 0o1777);
  }
  const plain = `echo $$ >> ${pids}/$TITAN_JOB_ID.$TITAN_ATTEMPT; sleep ${seconds}; echo done >> ${markers}/$TITAN_JOB_ID`;
  // The grandchild leaves the job's process group and session: only its environment says whose it is.
  const daemon = `setsid sh -c 'echo $$ >> ${pids}/$TITAN_JOB_ID.$TITAN_ATTEMPT; sleep ${seconds}; echo done >> ${markers}/$TITAN_JOB_ID.grandchild' & ${plain}; wait`;
  return [{ command: daemon }, ...[1, 2, 3].map(() => ({ command: plain }))];
}

export function recordedPids(dir: string, attempt: number): number {
  const pids = join(dir, 'pids');
  return readdirSync(pids)
    .filter((f) => f.endsWith(`.${attempt}`))
    .flatMap((f) =>
      readFileSync(join(pids, f), 'utf8')
        .split('\n')
        .filter((l) => l.length > 0),
    ).length;
}

export function completionCounts(dir: string): Map<string, number> {
  const markers = join(dir, 'markers');
  return new Map(
    readdirSync(markers).map((f) => [
      f,
      readFileSync(join(markers, f), 'utf8')
        .split('\n')
        .filter((l) => l === 'done').length,
    ]),
  );
}

export async function startedEverywhere(dir: string, jobIds: readonly string[]): Promise<void> {
  // Five pids for four jobs: the grandchild wrote its own.
  await until(
    'every job (and the grandchild) to start',
    async () => jobIds.every((id) => existsSync(join(dir, 'pids', `${id}.1`))) && recordedPids(dir, 1) === 5,
  );
}
