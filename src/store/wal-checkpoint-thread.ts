/**
 * The body of the WAL checkpointer's worker thread (see wal-checkpointer.ts): its own connection
 * to the store file, a PASSIVE checkpoint on a period (a RESTART once the WAL is past its size
 * limit) and once more when told to stop.
 */
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { WriterGate } from './writer-gate.js';

const { path, intervalMs, closed, truncateBytes, gateCell } = workerData as {
  path: string;
  intervalMs: number;
  closed: Int32Array;
  truncateBytes: number;
  gateCell: Int32Array;
};
/** A pruning batch runs a few ms at most; one still running after this leaves the RESTART for the next tick. */
const BATCH_WAIT_MS = 100;
const gate = new WriterGate(gateCell);
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
// retried on the next tick. Under a steady stream of commits PASSIVE never catches the last frame,
// so the WAL keeps growing; past `truncateBytes` a RESTART copies the few frames left and makes
// the next commit rewind the WAL to its start, where the master's connection trims the file to
// its journal_size_limit (the same size). It holds the master's writers (SQLite makes them wait
// on their busy timeout) for 5-14 ms in the soak. TRUNCATE held them 35-60 ms: it also cut the
// file to nothing, and every commit after it extended the file again. The RESTART takes the
// writer gate (writer-gate.ts) first, so it never lands inside one of retention's batches.
const restart = (): void => {
  const release = gate.holdForCheckpoint(BATCH_WAIT_MS);
  if (release === null) return;
  try {
    db.pragma('wal_checkpoint(RESTART)');
  } finally {
    release();
  }
};
const checkpoint = (): void => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    if (walBytes() > truncateBytes) restart();
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
