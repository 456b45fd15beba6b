/**
 * Who may write next between the master's pruning batches and the WAL checkpointer's RESTART,
 * shared by the two threads in one Int32 of a SharedArrayBuffer. A RESTART checkpoint holds the
 * master's writers until it is done, and a writer kept waiting sleeps in SQLite's busy handler
 * (1, 2, 5, 10, 15, 20 ms… between tries), so a batch that met one held the loop for as long as
 * the checkpoint and more (66 ms in a soak, beside a 130 ms RESTART). With the gate, a batch starts only when no checkpoint runs, and a checkpoint
 * starts only between batches: the master's side waits without blocking its loop, the
 * checkpointer's thread blocks (it has nothing else to do) until a batch's release wakes it.
 */
import { setTimeout as sleep } from 'node:timers/promises';

const FREE = 0;
const BATCH = 1;
const CHECKPOINT = 2;
const POLL_MS = 1;

/** Lets the holder's counterpart go. Calling it again does nothing. */
export type Release = () => void;

const NOTHING_HELD: Release = () => undefined;

export class WriterGate {
  /** The shared cell, handed to the checkpointer's thread (workerData) to build its own WriterGate on. */
  readonly cell: Int32Array;

  constructor(cell: Int32Array = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT))) {
    this.cell = cell;
  }

  /**
   * The master's thread, before a pruning batch: resolves once no checkpoint holds the writer, and
   * keeps the next checkpoint from starting until the release is called. Never blocks the thread:
   * it looks again every millisecond (a RESTART lasts a few). A checkpoint that holds the gate past
   * `maxWaitMs` (its thread died holding it) is passed over: the batch then runs as it would
   * without the gate, SQLite's own locking still keeping it safe.
   */
  async holdForBatch(maxWaitMs = 10_000): Promise<Release> {
    const deadline = Date.now() + maxWaitMs;
    while (Atomics.compareExchange(this.cell, 0, FREE, BATCH) !== FREE) {
      if (Date.now() >= deadline) return NOTHING_HELD;
      await sleep(POLL_MS);
    }
    return this.#releaser(BATCH);
  }

  /**
   * The checkpointer's thread, before a RESTART: blocks until no batch runs and takes the gate.
   * Null when a batch still held it after `timeoutMs` (the checkpoint is then left for next time).
   */
  holdForCheckpoint(timeoutMs: number): Release | null {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.compareExchange(this.cell, 0, FREE, CHECKPOINT);
      if (seen === FREE) return this.#releaser(CHECKPOINT);
      const left = deadline - Date.now();
      if (left <= 0) return null;
      Atomics.wait(this.cell, 0, seen, left);
    }
  }

  /** Frees the gate whoever holds it: for a checkpointer that stops, so no batch waits on it. */
  open(): void {
    Atomics.store(this.cell, 0, FREE);
    Atomics.notify(this.cell, 0);
  }

  #releaser(held: typeof BATCH | typeof CHECKPOINT): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (Atomics.compareExchange(this.cell, 0, held, FREE) === held) Atomics.notify(this.cell, 0);
    };
  }
}
