/**
 * The body of the WAL checkpointer's worker thread (see wal-checkpointer.ts): its own connection
 * to the store file, a PASSIVE checkpoint on a period and once more when told to stop.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, intervalMs, closed } = workerData as { path: string; intervalMs: number; closed: Int32Array };
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

// The master's connection closes after this one (it waits on `closed`), so the file is left
// by the last connection as SQLite leaves it: checkpointed, the WAL removed.
parentPort?.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  Atomics.store(closed, 0, 1);
  Atomics.notify(closed, 0);
  parentPort?.close();
});
