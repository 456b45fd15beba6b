/** A DAG run: a named set of jobs with edges, finished when every job of it is final. */

export const DAG_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type DagState = (typeof DAG_STATES)[number];

export interface Dag {
  readonly id: string;
  readonly seq: number;
  readonly name: string;
  state: DagState;
  readonly createdAt: number;
  finishedAt: number | null;
  /** Jobs in the run, including those added while it runs. */
  total: number;
  /** Jobs not yet final. */
  unfinished: number;
  /** Jobs that ended failed, dead or cancelled without an on_failure job to take over. */
  failed: number;
}

export function newDag(id: string, name: string, seq: number, now: number): Dag {
  return { id, seq, name, state: 'running', createdAt: now, finishedAt: null, total: 0, unfinished: 0, failed: 0 };
}
