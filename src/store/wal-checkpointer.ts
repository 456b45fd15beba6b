import { Worker } from 'node:worker_threads';
import { WriterGate, type Release } from './writer-gate.js';

/** A WAL larger than this after a checkpoint is rewound, and trimmed to this size by the next commit (see wal-checkpoint-thread.ts). */
export const WAL_TRUNCATE_BYTES = 64 * 1024 * 1024;

/**
 * Runs the store's WAL checkpoints on a second connection in a worker thread. SQLite's automatic
 * checkpoint runs inside whichever commit crosses the threshold, on the master's only thread;
 * here that stalled a commit by 5–35 ms every few thousand writes (timers fired late, dispatches
 * waited). With it off on the master's connection and done here, a commit only appends to the WAL.
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  /** Set to 1 by the thread once its connection is closed. */
  readonly #closed = new Int32Array(new SharedArrayBuffer(4));
  /** Shared with the thread: its RESTART and the master's pruning batches take turns. */
  readonly #gate = new WriterGate();
  #stopped = false;

  constructor(path: string, intervalMs = 1_000, onError: (message: string) => void = () => undefined, truncateBytes = WAL_TRUNCATE_BYTES) {
    this.#worker = new Worker(new URL('./wal-checkpoint-thread.js', import.meta.url), {
      workerData: { path, intervalMs, closed: this.#closed, truncateBytes, gateCell: this.#gate.cell },
    });
    // Never what keeps a process alive: a master's exit closes it like everything else.
    this.#worker.unref();
    this.#worker.on('message', (message: { type?: string; message?: string }) => {
      if (message.type === 'error') onError(message.message ?? 'checkpoint failed');
    });
    this.#worker.on('error', (err) => onError(err.message));
  }

  /**
   * Resolves once no RESTART checkpoint holds the writer, and keeps the next one from starting
   * until released: for work that must not wait inside SQLite's busy handler (retention's batches).
   */
  holdOffRestart(): Promise<Release> {
    return this.#gate.holdForBatch();
  }

  /**
   * Closes the thread's connection and returns once it is closed (at most `timeoutMs`), so the
   * store's own close that follows is the last one and nothing touches the files after it.
   * Synchronous, like the Store's close. Idempotent.
   */
  stop(timeoutMs = 2_000): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#worker.postMessage('stop');
    if (Atomics.wait(this.#closed, 0, 0, timeoutMs) === 'timed-out') void this.#worker.terminate();
    this.#gate.open();
  }
}
