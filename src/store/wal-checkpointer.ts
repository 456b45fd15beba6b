import { Worker } from 'node:worker_threads';

/**
 * Runs the store's WAL checkpoints on a second connection in a worker thread. SQLite's automatic
 * checkpoint runs inside whichever commit crosses the threshold, on the master's only thread;
 * here that stalled a commit by 5–35 ms every few thousand writes (timers fired late, dispatches
 * waited). With it off on the master's connection and done here, a commit only appends to the WAL.
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  #stopped: Promise<void> | null = null;

  constructor(path: string, intervalMs = 1_000, onError: (message: string) => void = () => undefined) {
    this.#worker = new Worker(new URL('./wal-checkpoint-thread.js', import.meta.url), { workerData: { path, intervalMs } });
    // Never what keeps a process alive: a master's exit closes it like everything else.
    this.#worker.unref();
    this.#worker.on('message', (message: { type?: string; message?: string }) => {
      if (message.type === 'error') onError(message.message ?? 'checkpoint failed');
    });
    this.#worker.on('error', (err) => onError(err.message));
  }

  /** Checkpoints once more and ends the thread. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= new Promise<void>((resolve) => {
      this.#worker.once('exit', () => resolve());
      this.#worker.postMessage('stop');
      // A thread that does not answer (a checkpoint stuck on a lock) is not waited for forever.
      setTimeout(() => void this.#worker.terminate(), 2_000).unref();
    });
    return this.#stopped;
  }
}
