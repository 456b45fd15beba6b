import { DelayHeap } from './delay-heap.js';
import type { Effect } from './effects.js';

/**
 * Jobs held until a time (delays, retry backoff, approval deadlines), and the one wake the core
 * has asked the shell for: a sooner time asks again, a later one waits for that wake.
 */
export class Wakeups {
  private readonly heap = new DelayHeap();
  private askedFor: number | null = null;

  has(jobId: string): boolean {
    return this.heap.has(jobId);
  }

  /** Holds the job until `at`, asking for a wake when none is due by then. */
  hold(jobId: string, at: number, effects: Effect[]): void {
    this.heap.add(jobId, at);
    const next = this.heap.next();
    if (next !== null && (this.askedFor === null || next < this.askedFor)) {
      this.askedFor = next;
      effects.push({ type: 'wake', at: next });
    }
  }

  forget(jobId: string): void {
    this.heap.remove(jobId);
  }

  /** The wake arrived: the jobs due by `now`, no longer held. */
  takeDue(now: number): string[] {
    this.askedFor = null;
    return this.heap.popDue(now);
  }

  /** Asks for a wake at the next held time; without it, later holds would wait for some other event. */
  askForNext(effects: Effect[]): void {
    const next = this.heap.next();
    if (next === null) return;
    this.askedFor = next;
    effects.push({ type: 'wake', at: next });
  }
}
