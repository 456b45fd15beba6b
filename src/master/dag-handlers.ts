import { runSteps } from '../common/steps.js';
import { TitanError, ErrorCode } from '../common/errors.js';
import type { Dag } from '../core/dag.js';
import type { Effect } from '../core/effects.js';
import type { JobOwner, JobSpec, JobState } from '../core/job.js';
import type { DagStatusView, DagView } from '../protocol/views.js';
import { toJobView } from './job-view.js';
import { NEW_DAG, orderSteps, type DagHistory, type DagJob, type OrderedDagJobs } from './dag-order.js';

export { NEW_DAG, type DagHistory, type DagJob, type OrderedDagJobs } from './dag-order.js';
import { checkRunnable } from './isolation-spec.js';
import { dagJobId, dagJobSpecOf } from './job-spec.js';
import type { Master } from './master.js';

/** What planning, submitting and showing DAG jobs use. */
export type DagHost = Pick<Master, 'reads' | 'commands' | 'artifacts'>;

export function toDagView(dag: Dag): DagView {
  return {
    id: dag.id,
    name: dag.name,
    state: dag.state,
    createdAt: dag.createdAt,
    finishedAt: dag.finishedAt,
    total: dag.total,
    unfinished: dag.unfinished,
    failed: dag.failed,
  };
}

export interface PlannedJob {
  readonly id: string;
  readonly spec: JobSpec;
}

/** Reads a running DAG's stored jobs, so planning and submitting jobs into it need no await in between. */
export async function readDagHistory(master: Pick<DagHost, 'reads'>, dagId: string): Promise<DagHistory> {
  const stored = await master.reads.jobsOfDag(dagId);
  return { keys: new Set(stored.map((j) => j.id.slice(dagId.length + 1))), states: new Map(stored.map((j) => [j.id, j.state])) };
}

/** The checks of a DAG's jobs that need the whole request, at once (`dag-order.ts`). */
export function orderDagJobs(dagId: string, requested: readonly DagJob[], history: DagHistory = NEW_DAG): OrderedDagJobs {
  return runSteps(orderSteps(dagId, requested, history));
}

/** The checks of one job alone: it can run here, and its script was uploaded. */
export function checkDagJob(master: Pick<DagHost, 'artifacts'>, job: DagJob): void {
  checkRunnable(job, `job ${job.key}`);
  if (job.run.kind === 'script' && !master.artifacts.has(job.run.artifact)) {
    throw new TitanError(ErrorCode.UNKNOWN_ARTIFACT, `script ${job.run.fileName} of job ${job.key} was not uploaded: ARTIFACT_PUT it first`);
  }
}

/** One ordered job as the core takes it. */
export function planOne(jobs: OrderedDagJobs, job: DagJob): PlannedJob {
  return { id: dagJobId(jobs.dagId, job.key), spec: dagJobSpecOf(jobs.dagId, jobs.byKey.get(job.key)!, jobs.fallbacks.get(job.key) ?? []) };
}

/**
 * Validates jobs for a DAG (new, or running with `history`) and turns them into specs in an order
 * the core can attach (parents first). Throws, naming the problem, before anything is submitted.
 * `dag-admission.ts` does the same a slice per turn of the loop, for large requests.
 */
export function planDagJobs(master: DagHost, dagId: string, requested: readonly DagJob[], history: DagHistory = NEW_DAG): PlannedJob[] {
  const jobs = orderDagJobs(dagId, requested, history);
  for (const job of jobs.ordered) checkDagJob(master, job);
  return jobs.ordered.map((job) => planOne(jobs, job));
}

/**
 * Submits planned jobs on behalf of `owner` (whose namespace and token the jobs' own tokens
 * carry); parents outside the batch that already finished are found in the DAG's `history`.
 */
export function submitPlanned(
  master: DagHost,
  planned: readonly PlannedJob[],
  effects: Effect[],
  owner: JobOwner | undefined,
  history: DagHistory = NEW_DAG,
): string[] {
  const finishedParents = finishedParentsOf(master, planned, history);
  const now = Date.now();
  for (const job of planned) effects.push(...master.commands.submit(job.id, owner === undefined ? job.spec : { ...job.spec, owner }, now, finishedParents));
  return planned.map((p) => p.id);
}

/** The parents outside the batch that already finished (so are no longer in memory), with their states from `history`. */
export function finishedParentsOf(master: Pick<DagHost, 'reads'>, planned: readonly PlannedJob[], history: DagHistory): Map<string, JobState> {
  const finishedParents = new Map<string, JobState>();
  if (history.states.size === 0) return finishedParents;
  const inBatch = new Set(planned.map((p) => p.id));
  for (const p of planned) {
    for (const id of p.spec.parents ?? []) {
      const state = history.states.get(id);
      if (!inBatch.has(id) && master.reads.job(id) === undefined && state !== undefined) finishedParents.set(id, state);
    }
  }
  return finishedParents;
}

/** The run and its jobs as clients see them: the in-memory run and jobs while active, else the stored ones. */
export async function dagStatus(master: Pick<DagHost, 'reads'>, dagId: string): Promise<DagStatusView> {
  const [storedDag, storedJobs] = await Promise.all([master.reads.getDag(dagId), master.reads.jobsOfDag(dagId)]);
  const dag = master.reads.dag(dagId) ?? storedDag;
  if (dag === undefined) throw new TitanError(ErrorCode.UNKNOWN_JOB, `no DAG ${dagId}: list them with \`titan dags\``);
  const now = Date.now();
  const jobs = storedJobs.map((stored) => {
    const job = master.reads.job(stored.id) ?? stored;
    const prefix = `${dagId}.`;
    const view = toJobView(job, job === stored ? null : master.reads.explainedWait(job, now));
    return { ...view, key: job.id.slice(prefix.length), parents: (job.spec.parents ?? []).map((p) => p.slice(prefix.length)) };
  });
  return { dag: toDagView(dag), jobs };
}
