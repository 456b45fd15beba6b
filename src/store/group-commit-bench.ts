import { performance } from 'node:perf_hooks';
import type { Job, JobSpec, JobState } from '../core/job.js';
import type { AsyncStore } from './async-store.js';
import type { JobWrite } from './store.js';

export interface GroupCommitFigures {
  readonly store: AsyncStore['kind'];
  readonly jobs: number;
  readonly transitions: number;
  readonly ticks: number;
  readonly seconds: number;
  readonly transitionsPerSecond: number;
}

const SPEC: JobSpec = {
  name: 'bench',
  run: { kind: 'command', command: '/bin/true' },
  args: [],
  env: {},
  requirement: ['GENERAL'],
  priority: 0,
  retries: 0,
  timeoutSeconds: 0,
};
const LIFE: readonly JobState[] = ['queued', 'running', 'succeeded'];

/**
 * The store's side of the master's write path alone: `jobs` jobs each go queued → running →
 * succeeded, their transitions committed `perTick` at a time (one commitTick each, awaited in
 * turn, as the shell commits one tick after another). Starts at seq `firstSeq` so it can run on
 * a store that already holds jobs. The figure is transitions per second of wall time.
 */
export async function groupCommitThroughput(store: AsyncStore, jobs = 20_000, perTick = 500, firstSeq = 1): Promise<GroupCommitFigures> {
  // Built before the clock starts: the figure is the store's work, not the bench's.
  const writes: JobWrite[] = [];
  for (const [step, state] of LIFE.entries()) {
    for (let i = 0; i < jobs; i++) {
      const seq = firstSeq + i;
      const job: Job = {
        id: `gc-${seq}`,
        seq,
        state,
        spec: SPEC,
        attempt: step === 0 ? 0 : 1,
        workerId: step === 0 ? null : 'bench-worker',
        submittedAt: 1,
        startedAt: step === 0 ? null : 2,
        finishedAt: step === 2 ? 3 : null,
        exitCode: step === 2 ? 0 : null,
        signal: null,
        reason: null,
        notBefore: null,
        pinnedWorker: null,
        crashes: 0,
        attemptBase: 0,
        serviceReady: false,
      };
      writes.push({
        job,
        event: {
          jobId: job.id,
          at: step + 1,
          from: step === 0 ? null : LIFE[step - 1]!,
          to: state,
          attempt: job.attempt,
          workerId: job.workerId,
          detail: null,
        },
      });
    }
  }
  const t0 = performance.now();
  let ticks = 0;
  for (let start = 0; start < writes.length; start += perTick) {
    await store.commitTick({ writes: writes.slice(start, start + perTick) });
    ticks++;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { store: store.kind, jobs, transitions: writes.length, ticks, seconds, transitionsPerSecond: Math.round(writes.length / seconds) };
}
