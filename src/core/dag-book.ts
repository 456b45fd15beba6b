import { TitanError, ErrorCode } from '../common/errors.js';
import type { Dag } from './dag.js';
import { countParent, newGate, type Gate } from './gate.js';
import type { Job, JobState } from './job.js';

/** Where a parent stands when a child is attached to it. */
export type ParentStatus = 'active' | JobState | undefined;

/**
 * The DAG half of the core: runs in progress, and the index of waiting children by parent, so a
 * finishing job touches exactly its own children (O(children)).
 */
export class DagBook {
  private readonly dags = new Map<string, Dag>();
  private readonly waitingOn = new Map<string, string[]>();
  private readonly gates = new Map<string, Gate>();

  add(dag: Dag): void {
    this.dags.set(dag.id, dag);
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
    const gate = newGate();
    for (const parentId of job.spec.parents ?? []) {
      const status = statusOf(parentId);
      if (status === undefined) {
        throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${job.id} depends on ${parentId}, which does not exist; add the parent first`);
      }
      if (status === 'active') {
        gate.remaining++;
        let list = this.waitingOn.get(parentId);
        if (list === undefined) this.waitingOn.set(parentId, (list = []));
        list.push(job.id);
      } else {
        countParent(gate, status);
      }
    }
    if (gate.remaining > 0) this.gates.set(job.id, gate);
    return gate;
  }

  /** The children still waiting on this parent. */
  childrenOf(parentId: string): readonly string[] {
    return this.waitingOn.get(parentId) ?? [];
  }

  waitingFor(jobId: string): Gate | undefined {
    return this.gates.get(jobId);
  }

  /**
   * A parent became final (or, for a ready service, as good as succeeded: pass `as`): returns the
   * children whose last parent this was, with their gates.
   */
  parentFinished(parent: Job, as: JobState = parent.state): Array<{ childId: string; gate: Gate }> {
    const children = this.waitingOn.get(parent.id);
    if (children === undefined) return [];
    this.waitingOn.delete(parent.id);
    const closed: Array<{ childId: string; gate: Gate }> = [];
    for (const childId of children) {
      const gate = this.gates.get(childId);
      if (gate === undefined) continue;
      gate.remaining--;
      countParent(gate, as);
      if (gate.remaining === 0) {
        this.gates.delete(childId);
        closed.push({ childId, gate });
      }
    }
    return closed;
  }

  /** A waiting job was ended some other way (cancel): it no longer waits. */
  drop(jobId: string): void {
    this.gates.delete(jobId);
  }

  /** Counts a final job out of its DAG; `finished` when that was its last unfinished job. */
  settle(job: Job, countsAsFailure: boolean, now: number): { dag: Dag; finished: boolean } | undefined {
    const dagId = job.spec.dagId;
    const dag = dagId === undefined ? undefined : this.dags.get(dagId);
    if (dag === undefined) return undefined;
    dag.unfinished--;
    if (countsAsFailure) dag.failed++;
    if (dag.unfinished > 0) return { dag, finished: false };
    if (dag.state === 'running') dag.state = dag.failed > 0 ? 'failed' : 'succeeded';
    dag.finishedAt = now;
    this.dags.delete(dag.id);
    return { dag, finished: true };
  }
}
