import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { pgClientConfig, type PgPoolOptions } from '../store/postgres/pg-pool.js';
import { DEFAULT_LEASE_TTL_MS } from './lease-ttl.js';
import { contendForLease, releaseLease, renewLease, type LeaseRow } from './pg-lease.js';

export interface LeadershipOptions extends PgPoolOptions {
  /** This master's name in the lease row; unique per process by default. */
  readonly holder?: string;
  /** How long a lease lasts without renewal; a dead leader is replaced after at most this. */
  readonly ttlMs?: number;
  /** How often the leader renews (a third of the TTL by default: two renewals may fail in a row). */
  readonly renewEveryMs?: number;
  /**
   * How often a standby looks at the lease, to take it when free, expired or orphaned (its holder died):
   * every 100 ms by default, a third of the TTL if that is shorter. A look is one unlocked read.
   */
  readonly retryEveryMs?: number;
}

const STANDBY_LOOK_EVERY_MS = 100;

export interface LeadershipEvents {
  /** This master leads from now on; fence the store with `epoch` before writing. */
  readonly onElected: (epoch: number) => void;
  /** This master no longer leads: stop dispatching and committing at once. */
  readonly onLost: (reason: string) => void;
}

type State = { readonly kind: 'standby' } | { readonly kind: 'leader'; readonly epoch: number; deadline: number } | { readonly kind: 'stopped' };

/**
 * Contends for the PostgreSQL lease and keeps it: a standby tries every `retryEveryMs`; the
 * leader renews every `renewEveryMs` on a connection of its own. Leadership is lost, and reported
 * at once, when a renewal is refused (the lease expired or another master took it), when that
 * connection fails or its session is terminated, or when the lease's local deadline passes
 * without a renewal (a stalled process: the deadline is measured from before the last successful
 * renewal was sent, on the monotonic clock, so it ends no later than the database's expiry).
 * A master that lost waits two TTLs before contending again, leaving the lease to a healthy standby.
 */
export class Leadership {
  readonly holder: string;
  readonly ttlMs: number;
  readonly #renewEveryMs: number;
  readonly #retryEveryMs: number;
  #state: State = { kind: 'standby' };
  #client: pg.Client | null = null;
  #timer: NodeJS.Timeout | null = null;
  #deadlineTimer: NodeJS.Timeout | null = null;
  /** Bumped on every change of state, so a reply that arrives after one is ignored. */
  #term = 0;
  /** The lease as this master last saw it: whom a standby sends clients to. */
  #seen: LeaseRow = { holder: null, epoch: 0, live: false };

  constructor(
    private readonly url: string,
    private readonly options: LeadershipOptions,
    private readonly events: LeadershipEvents,
  ) {
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    this.#renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(this.ttlMs / 3));
    this.#retryEveryMs = options.retryEveryMs ?? Math.max(1, Math.min(STANDBY_LOOK_EVERY_MS, Math.floor(this.ttlMs / 3)));
  }

  start(): void {
    this.#schedule(() => this.#contend(), 0);
  }

  /** The epoch this master leads under, or null; false as soon as the local deadline has passed. */
  get epoch(): number | null {
    const state = this.#state;
    if (state.kind !== 'leader') return null;
    if (performance.now() >= state.deadline) {
      this.#lose('the lease ran out before it was renewed (the process or its link to PostgreSQL stalled)');
      return null;
    }
    return state.epoch;
  }

  /**
   * Gives the lease up as if it had been lost (reported through `onLost`) but keeps contending,
   * after the usual pause: a leader that cannot serve (its ports or its store failed) makes room.
   */
  stepDown(reason: string): void {
    this.#lose(reason);
  }

  /**
   * Who leads, as far as this master knows: itself while it leads, otherwise the holder it found
   * at its last try (at most `retryEveryMs` old; `live` false when the lease had lapsed).
   */
  get lease(): LeaseRow {
    const epoch = this.epoch;
    return epoch !== null ? { holder: this.holder, epoch, live: true } : this.#seen;
  }

  /** Steps down (ends the lease so a standby takes over at once) and stops contending. */
  async stop(): Promise<void> {
    const state = this.#state;
    this.#state = { kind: 'stopped' };
    this.#term++;
    this.#clearTimers();
    const client = this.#client;
    this.#client = null;
    if (client === null) return;
    if (state.kind === 'leader') await releaseLease(client, this.holder, state.epoch).catch(() => undefined);
    await client.end().catch(() => undefined);
  }

  async #connection(): Promise<pg.Client> {
    if (this.#client !== null) return this.#client;
    const client = new pg.Client({ ...pgClientConfig(this.url, this.options), query_timeout: this.ttlMs });
    client.on('error', () => this.#dropConnection(client));
    client.on('end', () => this.#dropConnection(client));
    await client.connect();
    this.#client = client;
    return client;
  }

  /** After a failed or timed-out query the session may still be busy: the next attempt opens a new one. */
  #discardConnection(): void {
    const client = this.#client;
    this.#client = null;
    client?.end().catch(() => undefined);
  }

  #dropConnection(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = null;
    client.end().catch(() => undefined);
    this.#lose('the connection to PostgreSQL that holds the lease was lost');
  }

  async #contend(): Promise<void> {
    const term = this.#term;
    const sentAt = performance.now();
    let epoch: number | null = null;
    try {
      const found = await contendForLease(await this.#connection(), this.holder, this.ttlMs);
      epoch = found.epoch;
      this.#seen = found.current;
    } catch {
      this.#discardConnection();
      epoch = null; // unreachable database: a standby simply tries again
      this.#seen = { ...this.#seen, live: false };
    }
    if (term !== this.#term || this.#state.kind !== 'standby') return;
    if (epoch === null) {
      this.#schedule(() => this.#contend(), this.#retryEveryMs);
      return;
    }
    this.#term++;
    this.#state = { kind: 'leader', epoch, deadline: sentAt + this.ttlMs };
    this.#armDeadline();
    this.events.onElected(epoch);
    this.#schedule(() => this.#renew(), this.#renewEveryMs);
  }

  async #renew(): Promise<void> {
    const state = this.#state;
    if (state.kind !== 'leader') return;
    const term = this.#term;
    const sentAt = performance.now();
    let renewed = false;
    let why = 'the lease expired or another master took it';
    try {
      renewed = await renewLease(await this.#connection(), this.holder, state.epoch, this.ttlMs);
    } catch (err) {
      this.#discardConnection();
      why = `renewing the lease failed (${(err as Error).message})`;
    }
    if (term !== this.#term) return;
    if (!renewed) {
      this.#lose(why);
      return;
    }
    state.deadline = sentAt + this.ttlMs;
    this.#armDeadline();
    this.#schedule(() => this.#renew(), this.#renewEveryMs);
  }

  #armDeadline(): void {
    if (this.#deadlineTimer !== null) clearTimeout(this.#deadlineTimer);
    const state = this.#state;
    if (state.kind !== 'leader') return;
    this.#deadlineTimer = setTimeout(() => void this.epoch, Math.max(0, state.deadline - performance.now()));
  }

  #lose(reason: string): void {
    const state = this.#state;
    if (state.kind !== 'leader') return;
    this.#term++;
    this.#state = { kind: 'standby' };
    this.#clearTimers();
    this.events.onLost(reason);
    // Best effort: end the lease now if the link still works, so a standby need not wait it out.
    const client = this.#client;
    if (client !== null) void releaseLease(client, this.holder, state.epoch).catch(() => undefined);
    this.#schedule(() => this.#contend(), 2 * this.ttlMs);
  }

  #schedule(fn: () => Promise<void>, delayMs: number): void {
    if (this.#state.kind === 'stopped') return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void fn(), delayMs);
  }

  #clearTimers(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#deadlineTimer !== null) clearTimeout(this.#deadlineTimer);
    this.#timer = null;
    this.#deadlineTimer = null;
  }
}
