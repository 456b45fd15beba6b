import type { Dag } from '../core/dag.js';
import type { Job } from '../core/job.js';

type FinishedListener = (job: Job) => void;
type DagListener = (dag: Dag) => void;
/** Told that new lines of the job are in the store; it reads them after the last seq it saw. */
type LogListener = () => void;

/** Who waits for a job to end and who follows its logs; both woken by the master's effects. */
export class JobWatchers {
  private readonly finished = new Map<string, Set<FinishedListener>>();
  private readonly logs = new Map<string, Set<LogListener>>();
  private readonly dags = new Map<string, Set<DagListener>>();

  onDagFinished(dagId: string, listener: DagListener): () => void {
    return add(this.dags, dagId, listener);
  }

  dagFinished(dag: Dag): void {
    const listeners = this.dags.get(dag.id);
    if (listeners === undefined) return;
    this.dags.delete(dag.id);
    for (const listener of listeners) listener(dag);
  }

  onFinished(jobId: string, listener: FinishedListener): () => void {
    return add(this.finished, jobId, listener);
  }

  onLogs(jobId: string, listener: LogListener): () => void {
    return add(this.logs, jobId, listener);
  }

  jobFinished(job: Job): void {
    const listeners = this.finished.get(job.id);
    if (listeners === undefined) return;
    this.finished.delete(job.id);
    for (const listener of listeners) listener(job);
  }

  logsAppended(jobId: string): void {
    const listeners = this.logs.get(jobId);
    if (listeners === undefined) return;
    for (const listener of [...listeners]) listener();
  }
}

function add<T>(map: Map<string, Set<T>>, key: string, listener: T): () => void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(listener);
  return () => {
    const current = map.get(key);
    if (current === undefined) return;
    current.delete(listener);
    if (current.size === 0) map.delete(key);
  };
}
