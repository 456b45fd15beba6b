import type { Logger } from '../common/log.js';
import type { Peer } from '../protocol/peer.js';
import { TitanError } from '../common/errors.js';
import type { HostPort } from '../sdk/address.js';
import { connectToLeader } from '../sdk/find-leader.js';
import type { TlsClientFiles } from '../security/tls.js';

export interface LinkOptions {
  /** The masters, in order; the leader is found among them (docs/HA.md). */
  readonly masters: readonly HostPort[];
  readonly token: string;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly log: Logger;
  readonly tls?: TlsClientFiles;
}

/**
 * The worker's dialled-out connection to the master, re-established forever with capped
 * exponential backoff and jitter, so a fleet does not reconnect in lockstep after a master restart.
 * Each dial goes once through the masters (the leader a standby named first), so after a
 * failover the worker registers with the new leader, reporting the jobs it still runs.
 */
export class Link {
  private peer: Peer | null = null;
  private closed = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** The leader the last E_NOT_LEADER named, tried first by the next dial. */
  private prefer: string | null = null;

  constructor(
    private readonly options: LinkOptions,
    private readonly onUp: (peer: Peer, heartbeatIntervalMs: number) => Promise<void>,
    private readonly onDown: () => void,
  ) {}

  get current(): Peer | null {
    return this.peer;
  }

  start(): void {
    void this.dial();
  }

  /** The master answered that it no longer leads: drop it and dial again, the leader it named (if any) first. */
  leaderMoved(leader: string | null): void {
    this.prefer = leader;
    this.peer?.close();
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.peer?.close();
  }

  private async dial(): Promise<void> {
    if (this.closed) return;
    try {
      const prefer = this.prefer;
      this.prefer = null;
      const { peer, heartbeatIntervalMs, address } = await connectToLeader({
        masters: this.options.masters,
        prefer,
        failoverTimeoutMs: 0,
        token: this.options.token,
        role: 'worker',
        ...(this.options.tls !== undefined ? { tls: this.options.tls } : {}),
      });
      this.options.log.info({ master: address }, 'connected to the master');
      if (this.closed) {
        peer.close();
        return;
      }
      this.peer = peer;
      peer.onClose(() => {
        if (this.peer !== peer) return;
        this.peer = null;
        this.onDown();
        this.scheduleRetry();
      });
      await this.onUp(peer, heartbeatIntervalMs);
      this.attempt = 0;
    } catch (err) {
      // A master that stopped leading refuses the registration and names the new leader.
      if (err instanceof TitanError && typeof err.leader === 'string') this.prefer = err.leader;
      this.options.log.warn({ err: (err as Error).message, attempt: this.attempt }, 'master unreachable; retrying');
      if (this.peer !== null) this.peer.close();
      else this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== null) return;
    const base = Math.min(this.options.maxDelayMs, this.options.minDelayMs * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt = Math.min(this.attempt + 1, 30);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.dial();
    }, delay);
  }
}
