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
  /** A true ring: event `id` sits at `(id - 1) % capacity`, overwritten `capacity` events later (no array shift per event). */
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
    this.#ring[(entry.id - 1) % this.capacity] = entry;
    for (const listener of this.#listeners) listener(entry);
  }

  /** Events after `lastId`; null when some of them have already left the ring (the client should reload). */
  since(lastId: number): FeedEvent[] | null {
    const last = this.#nextId - 1;
    if (last === 0 || lastId >= last) return [];
    const oldest = Math.max(1, last - this.capacity + 1);
    if (lastId < oldest - 1) return null;
    const events: FeedEvent[] = [];
    for (let id = Math.max(lastId + 1, oldest); id <= last; id++) events.push(this.#ring[(id - 1) % this.capacity]!);
    return events;
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
