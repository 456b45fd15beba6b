/**
 * The worker's half of the lease rule (docs/RELIABILITY.md): the worker may run its attempts only
 * while it has heard from the master within `leaseMs`. Every answer from the master (registration,
 * heartbeat acknowledgement) renews the lease from the moment its request was sent, which is never
 * later than when the master saw it; the master re-queues only `heartbeatTimeoutMs` after the last
 * heartbeat it saw, and `leaseMs` is shorter by a margin, so the two runs never overlap.
 */
import { monotonicMs } from './watchdog.js';

/** How often a running worker checks its own lease (its watchdog checks it too, frozen worker or not). */
const CHECK_EVERY_MS = 200;

export class WorkerLease {
  private leaseMs: number | null = null;
  private expiresAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Set when the lease ran out; cleared by the next renewal. */
  private lapsed = false;

  constructor(
    private readonly onRenewed: (expiresAt: number) => void,
    private readonly onExpired: () => void,
  ) {}

  /** The master's lease length (absent from masters older than leases: no lease then). */
  configure(leaseMs: number | undefined): void {
    this.leaseMs = leaseMs !== undefined && leaseMs > 0 ? leaseMs : null;
    if (this.leaseMs === null) this.expiresAt = null;
  }

  /** The master answered a request sent at `sentAt` (monotonic ms). */
  renew(sentAt: number): void {
    if (this.leaseMs === null) return;
    const expiresAt = sentAt + this.leaseMs;
    if (this.expiresAt !== null && expiresAt <= this.expiresAt) return;
    this.expiresAt = expiresAt;
    this.lapsed = false;
    this.onRenewed(expiresAt);
    this.arm();
  }

  /** True when the lease ran out since the last renewal: what the attempts killed since then died of. */
  get expired(): boolean {
    return this.lapsed || (this.expiresAt !== null && monotonicMs() >= this.expiresAt);
  }

  get lengthMs(): number | null {
    return this.leaseMs;
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      if (this.expiresAt === null || this.lapsed || monotonicMs() < this.expiresAt) return;
      this.lapsed = true;
      this.onExpired();
    }, CHECK_EVERY_MS);
    this.timer.unref();
  }
}
