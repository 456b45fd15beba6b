/**
 * The body of the WAL checkpointer's worker thread (see wal-checkpointer.ts): its own connection
 * to the store file, a PASSIVE checkpoint on a period and once more when told to stop.
 */
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { path, intervalMs, closed, truncateBytes } = workerData as { path: string; intervalMs: number; closed: Int32Array; truncateBytes: number };
const db = new Database(path);
db.pragma('busy_timeout = 5000');

const walBytes = (): number => {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
};

// PASSIVE copies what it can without waiting for the master's writes; a busy moment is simply
// retried on the next tick. A WAL that grew past `truncateBytes` anyway (a burst, a long read
// that kept frames pinned) is truncated: PASSIVE has just copied nearly everything, so TRUNCATE
// holds the master's writers only for the last frames (SQLite makes them wait on their busy
// timeout meanwhile), here rather than in a commit.
const checkpoint = (): void => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    if (walBytes() > truncateBytes) db.pragma('wal_checkpoint(TRUNCATE)');
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
