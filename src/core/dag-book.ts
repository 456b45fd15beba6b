import { TitanError, ErrorCode } from '../common/errors.js';
import { newDag, type Dag } from './dag.js';
import { countParent, type Gate } from './gate.js';
import type { Job, JobState } from './job.js';

/** Where a parent stands when a child is attached to it. */
export type ParentStatus = 'active' | JobState | undefined;

/**
 * A child waiting on parents, listed under each of them: its gate (the counts of its parents'
 * outcomes) and the job itself, so a parent's end reaches its children without a lookup by id
 * per edge. One object per waiting job.
 */
interface Waiter extends Gate {
  /** Once it is no longer pending (cancelled, or retried as a new job), a parent's end skips it. */
  readonly job: Job;
}

/**
 * The DAG half of the core: runs in progress, and the index of waiting children by parent, so a
 * finishing job touches exactly its own children (O(children)).
 */
export class DagBook {
  private readonly dags = new Map<string, Dag>();
  private readonly waitingOn = new Map<string, Waiter[]>();
  /** Waiting children with affinity, by the parent whose worker they must run on (their first). */
  private readonly affinityChildren = new Map<string, string[]>();
  private nextSeq: number;

  constructor(firstSeq: number) {
    this.nextSeq = firstSeq;
  }

  /** A new run; throws when its id is taken. */
  create(id: string, name: string, now: number): Dag {
    if (this.dags.has(id)) throw new TitanError(ErrorCode.INVALID_REQUEST, `DAG id ${id} is already in use`);
    const dag = newDag(id, name, this.nextSeq++, now);
    this.dags.set(id, dag);
    return dag;
  }

  /** Keeps a run again (recovered, or revived by a retry); later runs are numbered after it. */
  add(dag: Dag): void {
    this.dags.set(dag.id, dag);
    this.nextSeq = Math.max(this.nextSeq, dag.seq + 1);
  }

  /** Numbers later runs after `seq` (the highest the store ever held). */
  continueAfter(seq: number): void {
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
  }

  get(dagId: string): Dag | undefined {
    return this.dags.get(dagId);
  }

  all(): IterableIterator<Dag> {
    return this.dags.values();
  }

  /** Counts a job into its DAG; throws when the DAG is unknown or already over. */
  enroll(job: Job): Dag | undefined {
    const dagId = job.spec.dagId;
    if (dagId === undefined) return undefined;
    const dag = this.dags.get(dagId);
    if (dag === undefined) throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${job.id} names DAG ${dagId}, which is not running (see titan dags)`);
    dag.total++;
    dag.unfinished++;
    return dag;
  }

  /** Links a job to its parents. Returns its gate; gate.remaining === 0 means every parent is final already. */
  attach(job: Job, statusOf: (parentId: string) => ParentStatus): Gate {
    const waiter: Waiter = { remaining: 0, succeeded: 0, failed: 0, skipped: 0, job };
    const gate: Gate = waiter;
    const parents = job.spec.parents ?? [];
    for (const parentId of parents) {
      const status = statusOf(parentId);
      if (status === undefined) {
        throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${job.id} depends on ${parentId}, which does not exist; add the parent first`);
      }
      if (status === 'active') {
        gate.remaining++;
        let list = this.waitingOn.get(parentId);
        if (list === undefined) this.waitingOn.set(parentId, (list = []));
        list.push(waiter);
      } else {
        countParent(gate, status);
      }
    }
    const first = parents[0];
    if (job.spec.affinity === true && first !== undefined && statusOf(first) === 'active') {
      let list = this.affinityChildren.get(first);
      if (list === undefined) this.affinityChildren.set(first, (list = []));
      list.push(job.id);
    }
    return gate;
  }

  /**
   * The children with affinity that wait on this parent, forgotten here: asked once, when the
   * parent ends. A separate index, so the many children without affinity cost no lookup.
   */
  takeAffinityChildren(parentId: string): readonly string[] {
    const children = this.affinityChildren.get(parentId);
    if (children === undefined) return [];
    this.affinityChildren.delete(parentId);
    return children;
  }

  /**
   * A parent became final (or, for a ready service, as good as succeeded: pass `as`): returns the
   * children whose last parent this was (each its own gate, with its job).
   */
  parentFinished(parent: Job, as: JobState = parent.state): readonly Waiter[] {
    const children = this.waitingOn.get(parent.id);
    if (children === undefined) return [];
    this.waitingOn.delete(parent.id);
    const closed: Waiter[] = [];
    for (const waiter of children) {
      if (waiter.job.state !== 'pending') continue;
      waiter.remaining--;
      countParent(waiter, as);
      if (waiter.remaining === 0) {
        closed.push(waiter);
      }
    }
    return closed;
  }

  /**
   * Counts a final job out of its DAG and returns the DAG (undefined outside one); the DAG is
   * finished when that was its last unfinished job (`unfinished` down to 0).
   */
  settle(job: Job, countsAsFailure: boolean, now: number): Dag | undefined {
    const dagId = job.spec.dagId;
    const dag = dagId === undefined ? undefined : this.dags.get(dagId);
    if (dag === undefined) return undefined;
    dag.unfinished--;
    if (countsAsFailure) dag.failed++;
    if (dag.unfinished > 0) return dag;
    if (dag.state === 'running') dag.state = dag.failed > 0 ? 'failed' : 'succeeded';
    dag.finishedAt = now;
    this.dags.delete(dag.id);
    return dag;
  }
}

/** A failed, dead or cancelled job fails its DAG, unless an on_failure job takes over. */
export function countsAsDagFailure(job: Job): boolean {
  return (job.state === 'failed' || job.state === 'dead' || job.state === 'cancelled') && job.spec.onFailure === undefined;
}
