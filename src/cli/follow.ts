import type { DagStatusView, JobView } from '../protocol/views.js';
import type { TitanClient } from '../sdk/client.js';
import { LiveLine } from './live-line.js';
import { countJobs, phaseLine, progressLine, runPhase } from './progress.js';

/**
 * How a --wait shows progress (always on stderr): `tty` redraws one live line, `pipe` prints a
 * line when the run's state changes, `quiet` (--json) prints nothing until the one document at the end.
 */
export type ProgressMode = 'tty' | 'pipe' | 'quiet';

export function progressMode(json: boolean | undefined, stream: { readonly isTTY?: boolean } = process.stderr): ProgressMode {
  if (json === true) return 'quiet';
  return stream.isTTY === true ? 'tty' : 'pipe';
}

const POLL_MS = 500;

/** Polls `read` until `wait` resolves; `show` sees each answer, never one that lands after the end. */
async function watch<T>(read: () => Promise<T>, wait: () => Promise<T>, show: (value: T) => void): Promise<T> {
  let ended = false;
  const poll = (): void =>
    void read().then(
      (value) => {
        if (!ended) show(value);
      },
      () => undefined,
    );
  poll();
  const timer = setInterval(poll, POLL_MS);
  try {
    return await wait();
  } finally {
    ended = true;
    clearInterval(timer);
  }
}

/** Follows a DAG run until it ends; resolves with its final status. */
export async function followDag(client: TitanClient, dagId: string, mode: ProgressMode): Promise<DagStatusView> {
  const started = Date.now();
  const live = mode === 'tty' ? new LiveLine(process.stderr) : null;
  let lastPhase = '';
  const show = (status: DagStatusView): void => {
    const counts = countJobs(status.jobs);
    const elapsed = Date.now() - started;
    if (live !== null) return live.draw(progressLine(counts, elapsed));
    const phase = runPhase(status.dag.state, counts);
    if (mode !== 'pipe' || phase === lastPhase || status.dag.state !== 'running') return;
    lastPhase = phase;
    process.stderr.write(`${phaseLine(`DAG ${dagId}`, phase, counts, elapsed)}\n`);
  };
  try {
    return await watch(
      () => client.dagStatus(dagId),
      () => client.waitDag(dagId),
      show,
    );
  } finally {
    live?.clear();
  }
}

/** "running on w1 (attempt 2)", "queued: waiting for a worker …": what one job is doing. */
function jobDetail(job: JobView): string {
  if (job.state === 'queued') return `queued: ${job.reason ?? 'waiting'}`;
  if (job.state === 'running' || job.state === 'assigned') return `${job.state} on ${job.workerId ?? '?'} (attempt ${job.attempt})`;
  return job.state;
}

/** Follows one job's output and state until it ends; output goes to stdout/stderr as the job wrote it. */
export async function followJob(client: TitanClient, jobId: string, mode: ProgressMode): Promise<JobView> {
  const started = Date.now();
  const live = mode === 'tty' ? new LiveLine(process.stderr) : null;
  let lastState = '';
  const show = (job: JobView): void => {
    if (live !== null) return live.draw(`${progressLine(countJobs([job]), Date.now() - started)} · ${jobDetail(job)}`);
    // A new line on a pipe when the state, attempt or worker changes, not when only the reason's wording does.
    const state = `${job.state}/${job.attempt}/${job.workerId ?? ''}`;
    if (mode === 'pipe' && state !== lastState) process.stderr.write(`… ${jobDetail(job)}\n`);
    lastState = state;
  };
  const output = async (): Promise<JobView> => {
    await client.logs(
      jobId,
      (lines) => {
        if (mode === 'quiet') return;
        for (const l of lines) {
          const stream = l.stream === 'stderr' ? process.stderr : process.stdout;
          if (live !== null) live.print(stream, `${l.line}\n`);
          else stream.write(`${l.line}\n`);
        }
      },
      { follow: true },
    );
    return client.wait(jobId);
  };
  try {
    return await watch(() => client.status(jobId), output, show);
  } finally {
    live?.clear();
  }
}
