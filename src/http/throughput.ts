import type { EventFeed } from '../master/event-feed.js';

const MINUTE = 60_000;
const WINDOW_MINUTES = 60;

export interface MinuteBucket {
  /** Start of the minute, ms since the epoch. */
  readonly at: number;
  readonly succeeded: number;
  readonly failed: number;
}

/**
 * Jobs finished per minute over the last hour (since the master started), for the overview's
 * throughput and failure-rate charts. Fed by the event feed; memory is 60 buckets.
 */
export class Throughput {
  readonly #buckets = new Map<number, { succeeded: number; failed: number }>();
  readonly #unsubscribe: () => void;

  constructor(feed: EventFeed) {
    this.#unsubscribe = feed.subscribe((event) => {
      const failed = event.to === 'failed' || event.to === 'dead';
      if (event.to !== 'succeeded' && !failed) return;
      const minute = Math.floor(event.at / MINUTE) * MINUTE;
      let bucket = this.#buckets.get(minute);
      if (bucket === undefined) {
        this.#buckets.set(minute, (bucket = { succeeded: 0, failed: 0 }));
        for (const key of this.#buckets.keys()) if (key <= minute - WINDOW_MINUTES * MINUTE) this.#buckets.delete(key);
      }
      if (failed) bucket.failed++;
      else bucket.succeeded++;
    });
  }

  /** The last hour, one bucket per minute, oldest first, zeros included. */
  lastHour(now: number): MinuteBucket[] {
    const current = Math.floor(now / MINUTE) * MINUTE;
    const out: MinuteBucket[] = [];
    for (let i = WINDOW_MINUTES - 1; i >= 0; i--) {
      const at = current - i * MINUTE;
      const bucket = this.#buckets.get(at);
      out.push({ at, succeeded: bucket?.succeeded ?? 0, failed: bucket?.failed ?? 0 });
    }
    return out;
  }

  close(): void {
    this.#unsubscribe();
  }
}
