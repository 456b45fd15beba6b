/**
 * The body of the WAL checkpointer's worker thread (see wal-checkpointer.ts): its own connection
 * to the store file, a PASSIVE checkpoint on a period and once more when told to stop.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path);
db.pragma('busy_timeout = 5000');

// PASSIVE copies what it can without waiting for the master's writes; a busy moment is simply
// retried on the next tick.
const checkpoint = (): void => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort?.postMessage({ type: 'error', message: (err as Error).message });
  }
};
const timer = setInterval(checkpoint, intervalMs);

parentPort?.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort?.close();
});
