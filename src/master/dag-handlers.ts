import { findCycles } from '../common/cycles.js';
import { TitanError, ErrorCode } from '../common/errors.js';
import type { Dag } from '../core/dag.js';
import type { Effect } from '../core/effects.js';
import type { JobOwner, JobSpec, JobState } from '../core/job.js';
import type { z } from 'zod';
import type { DagJobRequest } from '../protocol/messages.js';
import type { DagStatusView, DagView } from '../protocol/views.js';
import { toJobView } from './job-view.js';
import { withHitlGates } from './hitl-gates.js';
import { checkRunnable } from './isolation-spec.js';
import { dagJobId, dagJobSpecOf } from './job-spec.js';
import type { Master } from './master.js';

/** What planning, submitting and showing DAG jobs use. */
export type DagHost = Pick<Master, 'reads' | 'commands' | 'artifacts'>;

export type DagJob = z.output<typeof DagJobRequest>;

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

/**
 * Orders jobs so every parent inside the batch comes before its children (Kahn), and refuses a
 * cycle naming its members in order: the core attaches a child only to parents it already knows.
 */
function topologicalOrder(jobs: readonly DagJob[], existing: ReadonlySet<string>): DagJob[] {
  const byKey = new Map(jobs.map((j) => [j.key, j]));
  if (byKey.size !== jobs.length) throw new TitanError(ErrorCode.INVALID_REQUEST, 'two jobs share a key; keys must be unique within a DAG');
  const indegree = new Map<string, number>();
  const children = new Map<string, string[]>();
  for (const job of jobs) {
    const parents = parentsOf(job);
    indegree.set(job.key, parents.filter((p) => byKey.has(p)).length);
    for (const parent of parents) {
      if (!byKey.has(parent) && !existing.has(parent)) {
        throw new TitanError(
          ErrorCode.INVALID_REQUEST,
          `job ${job.key} depends on ${parent}, which is not in the DAG (defined: ${[...byKey.keys()].slice(0, 10).join(', ')})`,
        );
      }
      if (!byKey.has(parent)) continue;
      const list = children.get(parent);
      if (list === undefined) children.set(parent, [job.key]);
      else list.push(job.key);
    }
  }
  const ready = jobs.filter((j) => indegree.get(j.key) === 0).map((j) => j.key);
  const order: DagJob[] = [];
  for (let next = 0; next < ready.length; next++) {
    const key = ready[next]!;
    order.push(byKey.get(key)!);
    for (const child of children.get(key) ?? []) {
      const left = (indegree.get(child) ?? 0) - 1;
      indegree.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  if (order.length !== jobs.length) {
    const stuck = jobs.filter((j) => (indegree.get(j.key) ?? 0) > 0);
    const [cycle = []] = findCycles(
      stuck.map((j) => j.key),
      (key) => byKey.get(key)?.parents ?? [],
    );
    const shown = cycle.length > 11 ? [...cycle.slice(0, 10), '…'] : cycle;
    throw new TitanError(ErrorCode.INVALID_REQUEST, `the jobs ${shown.join(' → ')} form a cycle (each depends on the next); a DAG must have none`);
  }
  return order;
}

/** on_failure makes the fallback a one_failed child of the job it stands in for. */
function parentsOf(job: DagJob, fallbacks?: ReadonlyMap<string, string[]>): string[] {
  return [...job.parents, ...(fallbacks?.get(job.key) ?? [])];
}

export interface PlannedJob {
  readonly id: string;
  readonly spec: JobSpec;
}

/** A running DAG's jobs as the store holds them, read before jobs are added to it: their keys and states. */
export interface DagHistory {
  readonly keys: ReadonlySet<string>;
  readonly states: ReadonlyMap<string, JobState>;
}

/** The history of a run created by this request: it has none. */
export const NEW_DAG: DagHistory = { keys: new Set(), states: new Map() };

/** Reads a running DAG's stored jobs, so planning and submitting jobs into it need no await in between. */
export async function readDagHistory(master: Pick<DagHost, 'reads'>, dagId: string): Promise<DagHistory> {
  const stored = await master.reads.jobsOfDag(dagId);
  return { keys: new Set(stored.map((j) => j.id.slice(dagId.length + 1))), states: new Map(stored.map((j) => [j.id, j.state])) };
}

/** A request's jobs checked as a whole and put in the order the core attaches them (parents first). */
export interface OrderedDagJobs {
  readonly dagId: string;
  /** With the fallback edges added to their parents. */
  readonly ordered: readonly DagJob[];
  /** As requested (approval gates inserted), by key. */
  readonly byKey: ReadonlyMap<string, DagJob>;
  readonly fallbacks: ReadonlyMap<string, string[]>;
}

/**
 * The checks of a DAG's jobs that need the whole request (new run, or running with `history`):
 * keys, on_failure, parents and cycles. Linear; throws naming the problem.
 */
export function orderDagJobs(dagId: string, requested: readonly DagJob[], history: DagHistory = NEW_DAG): OrderedDagJobs {
  const known = history.keys;
  const jobs = withHitlGates(requested, known);
  for (const job of jobs) {
    if (known.has(job.key)) throw new TitanError(ErrorCode.INVALID_REQUEST, `DAG ${dagId} already has a job ${job.key}; pick another key`);
  }
  const keys = new Set(jobs.map((j) => j.key));
  const fallbacks = new Map<string, string[]>();
  for (const job of jobs) {
    if (job.onFailure === undefined) continue;
    if (!keys.has(job.onFailure))
      throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${job.key} names on_failure ${job.onFailure}, which is not in this batch`);
    fallbacks.set(job.onFailure, [...(fallbacks.get(job.onFailure) ?? []), job.key]);
  }
  const withFallbackEdges = jobs.map((j) => ({ ...j, parents: parentsOf(j, fallbacks) }));
  const ordered = topologicalOrder(withFallbackEdges, known);
  return { dagId, ordered, byKey: new Map(jobs.map((j) => [j.key, j])), fallbacks };
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
