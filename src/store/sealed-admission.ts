import type { Dag } from '../core/dag.js';
import type { TickCommit } from './async-store.js';
import type { JobWrite } from './store.js';

/**
 * A tick that admits a large new DAG, cut so that no transaction holds the loop for long: the new
 * runs' job rows go first, in chunks (each its own transaction), and the rest of the tick — the
 * DAG rows among it — last, in one transaction that seals the admission. A job row whose DAG row
 * does not exist belongs to an admission that never sealed, so was never acknowledged: recovery
 * deletes it (`dropUnsealedDagJobs`) before anything is decided, so none of it ever runs.
 */
export interface SealedAdmission {
  /** The new runs' job writes, each job and DAG frozen as it was when the tick was handed over. */
  readonly chunks: readonly (readonly JobWrite[])[];
  /** The original writes of `chunks`, in the same order (to know which ones a retry already wrote). */
  readonly originals: readonly JobWrite[];
  /** Everything else, the DAG rows included: the sealing transaction. */
  readonly seal: TickCommit;
}

/** Below this many writes for new runs a tick commits whole: one transaction is then a few milliseconds. */
export const SEAL_MIN_WRITES = 2_000;
/** Job writes per chunk transaction: about 10 ms of SQLite on a quiet machine. */
export const SEAL_CHUNK_WRITES = 800;

/**
 * Splits `tick` when it writes at least `minWrites` jobs of runs that `isStored` does not know yet
 * (DAGs created in this tick); undefined when it should commit whole. Job and DAG objects are
 * copied here, so the rows written later are those of the moment the tick was handed over, as
 * the AsyncStore contract has it, however the core changes them while the chunks commit.
 */
export function splitAdmission(
  tick: TickCommit,
  isStored: (dagId: string) => boolean,
  minWrites = SEAL_MIN_WRITES,
  chunkWrites = SEAL_CHUNK_WRITES,
): SealedAdmission | undefined {
  if (tick.writes.length < minWrites) return undefined;
  const fresh = new Set((tick.dags ?? []).filter((d) => !isStored(d.id)).map((d) => d.id));
  if (fresh.size === 0) return undefined;
  const originals: JobWrite[] = [];
  const rest: JobWrite[] = [];
  for (const write of tick.writes) {
    const dagId = write.job.spec.dagId;
    if (dagId !== undefined && fresh.has(dagId)) originals.push(write);
    else rest.push(write);
  }
  if (originals.length < minWrites) return undefined;
  const frozen = originals.map((w) => ({ job: { ...w.job }, event: w.event }));
  const chunks: JobWrite[][] = [];
  for (let at = 0; at < frozen.length; at += chunkWrites) chunks.push(frozen.slice(at, at + chunkWrites));
  const seal: TickCommit = {
    writes: rest.map((w) => ({ job: { ...w.job }, event: w.event })),
    dags: (tick.dags ?? []).map((d): Dag => ({ ...d })),
    schedules: tick.schedules ?? [],
  };
  return { chunks, originals, seal };
}
