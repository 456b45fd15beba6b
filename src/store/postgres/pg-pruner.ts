import type { PruneBatch } from '../pruner.js';
import type { Queryable } from './pg-jobs.js';

// Retention deletes finished history. `dead` jobs are the DLQ: they stay until retried or removed.
const PRUNABLE = "('succeeded', 'failed', 'cancelled', 'skipped', 'stopped')";

/**
 * One retention batch inside the caller's transaction, with the rules of SQLite's pruner.ts: a
 * job goes with its events and log chunks (a bounded number of chunks per batch), a DAG run once
 * it is finished, old enough and empty; jobs of running DAGs, the DLQ and the audit ledger stay.
 * No seq floor is needed here: log seqs come from the `log_seq` counter, which never goes back.
 */
export async function pruneBatch(client: Queryable, before: number, maxRows: number): Promise<PruneBatch> {
  let rows = 0;
  let jobs = 0;
  let logChunks = 0;
  const old = await client.query<{ id: string }>(
    `SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < $1 AND state IN ${PRUNABLE}
       AND (dag_id IS NULL OR NOT EXISTS (SELECT 1 FROM dags WHERE dags.id = jobs.dag_id AND dags.state = 'running'))
     ORDER BY finished_at LIMIT $2`,
    [before, maxRows],
  );
  for (const { id } of old.rows) {
    const chunks = await client.query(
      'DELETE FROM job_log_chunks WHERE first_seq IN (SELECT first_seq FROM job_log_chunks WHERE job_id = $1 ORDER BY last_seq LIMIT $2)',
      [id, maxRows - rows],
    );
    logChunks += chunks.rowCount ?? 0;
    rows += chunks.rowCount ?? 0;
    const left = await client.query('SELECT 1 FROM job_log_chunks WHERE job_id = $1 LIMIT 1', [id]);
    if (left.rows.length > 0) break; // the rest of its log in the next batch
    rows += (await client.query('DELETE FROM job_events WHERE job_id = $1', [id])).rowCount ?? 0;
    await client.query('DELETE FROM jobs WHERE id = $1', [id]);
    jobs++;
    if (++rows >= maxRows) break;
  }
  let dags = 0;
  if (rows < maxRows) {
    const deleted = await client.query(
      `DELETE FROM dags WHERE id IN (
         SELECT id FROM dags WHERE finished_at IS NOT NULL AND finished_at < $1 AND state <> 'running'
           AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.dag_id = dags.id)
         ORDER BY finished_at LIMIT $2)`,
      [before, maxRows - rows],
    );
    dags = deleted.rowCount ?? 0;
  }
  return { jobs, logChunks, dags };
}
