import { findCycles } from '../common/cycles.js';
import { TitanError, ErrorCode } from '../common/errors.js';
import type { JobState } from '../core/job.js';
import type { z } from 'zod';
import type { DagJobRequest } from '../protocol/messages.js';
import { withHitlGates } from './hitl-gates.js';

export type DagJob = z.output<typeof DagJobRequest>;

/** A running DAG's jobs as the store holds them, read before jobs are added to it: their keys and states. */
export interface DagHistory {
  readonly keys: ReadonlySet<string>;
  readonly states: ReadonlyMap<string, JobState>;
}

/** The history of a run created by this request: it has none. */
export const NEW_DAG: DagHistory = { keys: new Set(), states: new Map() };

/** A request's jobs checked as a whole and put in the order the core attaches them (parents first). */
export interface OrderedDagJobs {
  readonly dagId: string;
  /** As requested (approval gates inserted), parents first. */
  readonly ordered: readonly DagJob[];
  /** The same jobs by key. */
  readonly byKey: ReadonlyMap<string, DagJob>;
  /** on_failure: the jobs each fallback stands in for (its extra, one_failed parents). */
  readonly fallbacks: ReadonlyMap<string, string[]>;
}

/** Jobs walked between two yields of `orderSteps`: a few milliseconds on a quiet machine. */
export const ORDER_STEP_JOBS = 2_000;

/**
 * The checks of a DAG's jobs that need the whole request (new run, or running with `history`):
 * keys, on_failure, parents and cycles, then the order the core attaches them in (Kahn). Throws
 * naming the problem. A generator that yields every ORDER_STEP_JOBS jobs: `runSteps` runs it at
 * once, `runStepsInTurns` a step per turn of the loop (common/steps.ts).
 */
export function* orderSteps(dagId: string, requested: readonly DagJob[], history: DagHistory = NEW_DAG): Generator<void, OrderedDagJobs> {
  const known = history.keys;
  const jobs = withHitlGates(requested, known);
  const byKey = new Map<string, DagJob>();
  for (const job of jobs) {
    if (known.has(job.key)) throw new TitanError(ErrorCode.INVALID_REQUEST, `DAG ${dagId} already has a job ${job.key}; pick another key`);
    byKey.set(job.key, job);
  }
  if (byKey.size !== jobs.length) throw new TitanError(ErrorCode.INVALID_REQUEST, 'two jobs share a key; keys must be unique within a DAG');
  const fallbacks = new Map<string, string[]>();
  for (const job of jobs) {
    if (job.onFailure === undefined) continue;
    if (!byKey.has(job.onFailure))
      throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${job.key} names on_failure ${job.onFailure}, which is not in this batch`);
    fallbacks.set(job.onFailure, [...(fallbacks.get(job.onFailure) ?? []), job.key]);
  }
  yield;
  // on_failure makes the fallback a one_failed child of the job it stands in for.
  const parentsOf = (job: DagJob): readonly string[] => {
    const extra = fallbacks.get(job.key);
    return extra === undefined ? job.parents : [...job.parents, ...extra];
  };
  const indegree = new Map<string, number>();
  const children = new Map<string, string[]>();
  let walked = 0;
  for (const job of jobs) {
    let inBatch = 0;
    for (const parent of parentsOf(job)) {
      if (!byKey.has(parent)) {
        if (known.has(parent)) continue;
        throw new TitanError(
          ErrorCode.INVALID_REQUEST,
          `job ${job.key} depends on ${parent}, which is not in the DAG (defined: ${[...byKey.keys()].slice(0, 10).join(', ')})`,
        );
      }
      inBatch++;
      const list = children.get(parent);
      if (list === undefined) children.set(parent, [job.key]);
      else list.push(job.key);
    }
    indegree.set(job.key, inBatch);
    if (++walked % ORDER_STEP_JOBS === 0) yield;
  }
  const ready = jobs.filter((j) => indegree.get(j.key) === 0).map((j) => j.key);
  const ordered: DagJob[] = [];
  for (let next = 0; next < ready.length; next++) {
    const key = ready[next]!;
    ordered.push(byKey.get(key)!);
    for (const child of children.get(key) ?? []) {
      const left = (indegree.get(child) ?? 0) - 1;
      indegree.set(child, left);
      if (left === 0) ready.push(child);
    }
    if ((next + 1) % ORDER_STEP_JOBS === 0) yield;
  }
  if (ordered.length !== jobs.length) {
    const stuck = jobs.filter((j) => (indegree.get(j.key) ?? 0) > 0);
    const [cycle = []] = findCycles(
      stuck.map((j) => j.key),
      (key) => {
        const job = byKey.get(key);
        return job === undefined ? [] : [...parentsOf(job)];
      },
    );
    const shown = cycle.length > 11 ? [...cycle.slice(0, 10), '…'] : cycle;
    throw new TitanError(ErrorCode.INVALID_REQUEST, `the jobs ${shown.join(' → ')} form a cycle (each depends on the next); a DAG must have none`);
  }
  return { dagId, ordered, byKey, fallbacks };
}
