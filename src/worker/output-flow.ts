/**
 * Flow control for a job's output pipes: the job is made to wait (its pipe stops being read, so
 * its writes block) while the worker cannot pass its output on, instead of the worker buffering it.
 */
import type { Readable } from 'node:stream';

/** Whether output may flow now; `whenOpen` runs the callback once it may (at once when open). */
export interface OutputGate {
  readonly open: boolean;
  whenOpen(cb: () => void): void;
}

/** Always open: for an executor with nowhere that can be congested (tests, one-off runs). */
export const OPEN_GATE: OutputGate = { open: true, whenOpen: (cb) => cb() };

/**
 * Pauses one readable while anything holds it: the log file waiting for the disk, the gate
 * waiting for the link. Resumes only when every holder has let go.
 */
export class Valve {
  readonly #holders = new Set<string>();

  constructor(private readonly source: Readable) {}

  get held(): boolean {
    return this.#holders.size > 0;
  }

  hold(holder: string): void {
    this.#holders.add(holder);
    this.source.pause();
  }

  release(holder: string): void {
    if (!this.#holders.delete(holder) || this.#holders.size > 0) return;
    this.source.resume();
  }
}
