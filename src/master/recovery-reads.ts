import type { Dag } from '../core/dag.js';
import type { Job, JobState } from '../core/job.js';
import type { AsyncStore } from '../store/async-store.js';
import type { Logger } from '../common/log.js';

/** What the core is rebuilt from at start: every read of the store recovery makes, made before anything is decided. */
export interface RecoveryReads {
  readonly lastJobSeq: number;
  readonly lastDagSeq: number;
  /** Jobs not yet final, in submission order. */
  readonly active: Job[];
  /** DAG runs still running. */
  readonly dags: Dag[];
  /** The states of pending jobs' parents that are already final (so no longer active). */
  readonly parentStates: Map<string, JobState>;
  /** Jobs of DAG admissions that never sealed (the master died between their chunks), deleted before the reads. */
  readonly unsealedDropped: number;
}

export async function readForRecovery(
  store: Pick<AsyncStore, 'maxJobSeq' | 'maxDagSeq' | 'loadActiveJobs' | 'loadActiveDags' | 'jobStates' | 'dropUnsealedDagJobs'>,
  log?: Pick<Logger, 'warn'>,
): Promise<RecoveryReads> {
  // Never acknowledged and never dispatched: none of such a run may run, so it goes before anything is read.
  const unsealedDropped = await store.dropUnsealedDagJobs();
  if (unsealedDropped > 0) log?.warn({ jobs: unsealedDropped }, 'dropped the jobs of a DAG submission that was cut short (never acknowledged)');
  const [lastJobSeq, lastDagSeq, active, dags] = await Promise.all([store.maxJobSeq(), store.maxDagSeq(), store.loadActiveJobs(), store.loadActiveDags()]);
  const activeIds = new Set(active.map((j) => j.id));
  const finishedParents = active.flatMap((j) => (j.state === 'pending' ? (j.spec.parents ?? []) : [])).filter((p) => !activeIds.has(p));
  const parentStates = await store.jobStates([...new Set(finishedParents)]);
  return { lastJobSeq, lastDagSeq, active, dags, parentStates, unsealedDropped };
}
