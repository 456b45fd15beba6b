import type { Job, JobState } from '../core/job.js';
import type { JobEvent } from '../core/job.js';

/** One job transition as live clients (the dashboard's SSE stream, /metrics) see it. */
export interface FeedEvent {
  /** Increases by one per event for the master's lifetime; an SSE client resumes after it. */
  readonly id: number;
  readonly type: 'job';
  readonly at: number;
  readonly jobId: string;
  readonly name: string;
  readonly dagId: string | null;
  readonly from: JobState | null;
  readonly to: JobState;
  readonly attempt: number;
  readonly workerId: string | null;
  readonly detail: string | null;
}

type Listener = (event: FeedEvent) => void;

/**
 * The master's recent job transitions, kept in a bounded ring so a client that reconnects
 * (SSE Last-Event-ID) gets what it missed, plus the store's write timings for /metrics.
 */
export class EventFeed {
  readonly #ring: FeedEvent[] = [];
  #nextId = 1;
  readonly #listeners = new Set<Listener>();
  readonly #writeListeners = new Set<(seconds: number) => void>();

  constructor(private readonly capacity = 10_000) {}

  publish(job: Job, event: JobEvent): void {
    const entry: FeedEvent = {
      id: this.#nextId++,
      type: 'job',
      at: event.at,
      jobId: job.id,
      name: job.spec.name,
      dagId: job.spec.dagId ?? null,
      from: event.from,
      to: event.to,
      attempt: event.attempt,
      workerId: event.workerId,
      detail: event.detail,
    };
    this.#ring.push(entry);
    // Trimmed in bulk: dropping one entry per publish moves the whole ring each time (a 10,000-job DAG held the loop ~60 ms for it).
    if (this.#ring.length >= 2 * this.capacity) this.#ring.splice(0, this.#ring.length - this.capacity);
    for (const listener of this.#listeners) listener(entry);
  }

  /** Events after `lastId`; null when some of them have already left the ring (the client should reload). */
  since(lastId: number): FeedEvent[] | null {
    const stored = this.#ring[0];
    if (stored === undefined || lastId >= this.#nextId - 1) return [];
    // The ring holds the last `capacity` events; older ones still stored await the next bulk trim.
    const firstKept = Math.max(stored.id, this.#nextId - this.capacity);
    if (lastId < firstKept - 1) return null;
    return this.#ring.slice(lastId - stored.id + 1);
  }

  get lastId(): number {
    return this.#nextId - 1;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  storeWrote(seconds: number): void {
    for (const listener of this.#writeListeners) listener(seconds);
  }

  onStoreWrite(listener: (seconds: number) => void): () => void {
    this.#writeListeners.add(listener);
    return () => this.#writeListeners.delete(listener);
  }
}
