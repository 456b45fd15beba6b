import type { Database, Statement } from 'better-sqlite3';

/** What one pruning batch deleted; all zero when nothing older than the cutoff is left. */
export interface PruneBatch {
  readonly jobs: number;
  readonly logChunks: number;
  readonly dags: number;
}

// Retention deletes finished history. `dead` jobs are the DLQ: they stay until retried or removed.
const PRUNABLE = "('succeeded', 'failed', 'cancelled', 'skipped', 'stopped')";

/**
 * The oldest finished jobs past the cutoff, read in finished_at order off the jobs_finished index.
 * Left to itself the planner picks jobs_state for the `state IN` (every succeeded job) and sorts
 * them all in a temporary B-tree: each batch then cost a scan of the whole table, 140 ms per batch
 * in a 200,000-job soak, and retention fell behind. Exported so a test can check the plan.
 */
export const SELECT_OLD_JOBS = `SELECT id FROM jobs INDEXED BY jobs_finished
  WHERE finished_at IS NOT NULL AND finished_at < ? AND state IN ${PRUNABLE}
    AND (dag_id IS NULL OR NOT EXISTS (SELECT 1 FROM dags WHERE dags.id = jobs.dag_id AND dags.state = 'running'))
  ORDER BY finished_at LIMIT ?`;

/**
 * Deletes history older than a cutoff in small batches, each its own short transaction, so the
 * master's loop runs between them. A job goes with its events and log chunks (its chunks first,
 * a bounded number per batch, so a job with a 64 MiB log takes several batches); a DAG run goes
 * once it is finished, old enough and none of its jobs is left. Jobs of a running DAG stay (its
 * pending jobs read their parents' states). The audit ledger is never touched here.
 */
export class StorePruner {
  readonly #oldJobs: Statement<[number, number], string>;
  readonly #chunksOf: Statement<[string, number]>;
  readonly #remainingChunks: Statement<[string], number>;
  readonly #deleteEvents: Statement<[string]>;
  readonly #deleteJob: Statement<[string]>;
  readonly #oldDags: Statement<[number, number], string>;
  readonly #deleteDag: Statement<[string]>;
  readonly #recordLogSeq: Statement<[string]>;
  readonly #batch: (before: number, maxRows: number, highestLogSeq: number) => PruneBatch;

  constructor(db: Database) {
    this.#oldJobs = db.prepare<[number, number], string>(SELECT_OLD_JOBS).pluck();
    this.#chunksOf = db.prepare(
      'DELETE FROM job_log_chunks WHERE first_seq IN (SELECT first_seq FROM job_log_chunks WHERE job_id = ? ORDER BY last_seq LIMIT ?)',
    );
    this.#remainingChunks = db.prepare<[string], number>('SELECT COUNT(*) FROM (SELECT 1 FROM job_log_chunks WHERE job_id = ? LIMIT 1)').pluck();
    this.#deleteEvents = db.prepare('DELETE FROM job_events WHERE job_id = ?');
    this.#deleteJob = db.prepare('DELETE FROM jobs WHERE id = ?');
    this.#oldDags = db
      .prepare<[number, number], string>(
        `SELECT id FROM dags WHERE finished_at IS NOT NULL AND finished_at < ? AND state != 'running'
         AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.dag_id = dags.id)
       ORDER BY finished_at LIMIT ?`,
      )
      .pluck();
    this.#deleteDag = db.prepare('DELETE FROM dags WHERE id = ?');
    this.#recordLogSeq = db.prepare("INSERT INTO meta (key, value) VALUES ('log_seq_floor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    this.#batch = db.transaction((before: number, maxRows: number, highestLogSeq: number): PruneBatch => {
      let rows = 0;
      let jobs = 0;
      let logChunks = 0;
      // A seq is never handed out twice, even once the newest chunks are deleted.
      this.#recordLogSeq.run(String(highestLogSeq));
      for (const id of this.#oldJobs.all(before, maxRows)) {
        const deleted = this.#chunksOf.run(id, maxRows - rows).changes;
        logChunks += deleted;
        rows += deleted;
        if (this.#remainingChunks.get(id) !== 0) break; // the rest of its log in the next batch
        rows += this.#deleteEvents.run(id).changes;
        this.#deleteJob.run(id);
        jobs++;
        if (++rows >= maxRows) break;
      }
      let dags = 0;
      if (rows < maxRows) {
        for (const id of this.#oldDags.all(before, maxRows - rows)) dags += this.#deleteDag.run(id).changes;
      }
      return { jobs, logChunks, dags };
    });
  }

  /** Deletes at most about `maxRows` rows of history finished before `before`, in one transaction. */
  pruneBatch(before: number, maxRows: number, highestLogSeq: number): PruneBatch {
    return this.#batch(before, Math.max(1, maxRows), highestLogSeq);
  }
}
