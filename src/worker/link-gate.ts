import type { Peer } from '../protocol/peer.js';
import type { OutputGate } from './output-flow.js';

/**
 * Open while the link to the master absorbs what is written to it. When its socket buffer is
 * full, jobs' pipes stop being read until it drains, so a job printing without end costs the
 * worker a bounded buffer instead of its memory. With no link, lines go to the attempt's bounded
 * backlog (output-backlog.ts), past which they are counted, not kept, so the gate is open.
 */
export class LinkGate implements OutputGate {
  #waiters: Array<() => void> = [];

  constructor(private readonly peer: () => Peer | null) {}

  get open(): boolean {
    const peer = this.peer();
    return peer === null || !peer.writableNeedDrain;
  }

  whenOpen(cb: () => void): void {
    if (this.open) cb();
    else this.#waiters.push(cb);
  }

  /** The link drained, or went away: everything waiting flows again. */
  release(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const cb of waiters) cb();
  }
}
