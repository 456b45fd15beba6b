import type { Logger } from '../common/log.js';
import type { LeadershipEvents } from '../leadership/leadership.js';

/** A master serving as leader: built for one epoch, closed when that epoch ends. */
export interface LeaderTerm {
  /** Stops placing and dispatching work at once (synchronous: called the moment the lease is lost). */
  stopDispatching(): void;
  /** Closes its ports and lets go of what it holds; idempotent. */
  close(): Promise<void>;
}

/** What answers on the master's ports while another master leads. */
export interface StandbyTerm {
  close(): Promise<void>;
}

export interface SeatParts {
  /** The lease contender, given the seat's own callbacks (a `Leadership` in production). */
  readonly leadership: (events: LeadershipEvents) => { start(): void; stepDown(reason: string): void; stop(): Promise<void> };
  /** Opens the ports as a standby (every request is sent to the leader). */
  readonly standby: () => Promise<StandbyTerm>;
  /** Builds a master fenced at `epoch`, recovers its state from the store and opens the ports. */
  readonly lead: (epoch: number) => Promise<LeaderTerm>;
  readonly log: Logger;
}

export type SeatRole = { readonly kind: 'standby' } | { readonly kind: 'leader'; readonly epoch: number } | { readonly kind: 'stopped' };

/**
 * One master's seat among several on one PostgreSQL store (docs/HA.md): a standby until the
 * lease elects it, then a leader for exactly that epoch, then a standby again when the lease is
 * lost. Changes of role happen one at a time, in the order the lease reported them; the ports
 * pass from the standby to the leader and back, so clients and workers always find an answer
 * (or a refused connection for the moment of the handover, which they retry).
 */
export class MasterSeat {
  #role: SeatRole = { kind: 'standby' };
  #leader: LeaderTerm | null = null;
  #standby: StandbyTerm | null = null;
  /** Role changes run one after another on this chain. */
  #changes: Promise<void> = Promise.resolve();
  #lease: ReturnType<SeatParts['leadership']> | null = null;

  constructor(private readonly parts: SeatParts) {}

  get role(): SeatRole {
    return this.#role;
  }

  /**
   * Opens the ports as a standby, then contends for the lease: the lease is made only now, so the
   * addresses it advertises can be the ports just bound (port 0 picks them).
   */
  async start(): Promise<void> {
    this.#standby = await this.parts.standby();
    this.#lease = this.parts.leadership({
      onElected: (epoch) => this.#elected(epoch),
      onLost: (reason) => this.#lost(reason),
    });
    this.#lease.start();
  }

  /** Resolves once every role change reported so far is done (for tests and for stop). */
  settled(): Promise<void> {
    return this.#changes;
  }

  /** Ends the lease (a standby takes over at once) and closes whatever serves the ports. */
  async stop(): Promise<void> {
    this.#role = { kind: 'stopped' };
    this.#leader?.stopDispatching();
    await this.#lease?.stop();
    await this.#enqueue(async () => {
      await this.#leader?.close();
      await this.#standby?.close();
      this.#leader = null;
      this.#standby = null;
    });
  }

  #elected(epoch: number): void {
    if (this.#role.kind === 'stopped') return;
    this.#role = { kind: 'leader', epoch };
    this.parts.log.info({ epoch }, 'elected leader: taking over the ports');
    void this.#enqueue(async () => {
      if (!this.#leads(epoch)) return;
      await this.#standby?.close();
      this.#standby = null;
      let term: LeaderTerm;
      try {
        term = await this.parts.lead(epoch);
      } catch (err) {
        this.parts.log.error({ epoch, err }, 'could not serve as leader; stepping down');
        this.#lease?.stepDown(`could not serve as leader: ${(err as Error).message}`);
        await this.#serveAsStandby();
        return;
      }
      this.#leader = term;
      // Lost while it was starting: the loss was reported before there was a term to stop.
      if (!this.#leads(epoch)) await this.#endLeadership();
    });
  }

  #lost(reason: string): void {
    if (this.#role.kind !== 'leader') return;
    this.#role = { kind: 'standby' };
    this.#leader?.stopDispatching();
    this.parts.log.warn({ reason }, 'no longer the leader: stopped dispatching, serving as a standby');
    void this.#enqueue(() => this.#endLeadership());
  }

  #leads(epoch: number): boolean {
    return this.#role.kind === 'leader' && this.#role.epoch === epoch;
  }

  async #endLeadership(): Promise<void> {
    const term = this.#leader;
    this.#leader = null;
    if (term === null) return;
    term.stopDispatching();
    await term.close();
    await this.#serveAsStandby();
  }

  async #serveAsStandby(): Promise<void> {
    if (this.#role.kind === 'stopped' || this.#standby !== null) return;
    this.#standby = await this.parts.standby();
  }

  #enqueue(change: () => Promise<void>): Promise<void> {
    const next = this.#changes.then(change).catch((err: unknown) => this.parts.log.error({ err }, 'changing the master role failed'));
    this.#changes = next;
    return next;
  }
}
