/**
 * Notices when the master's own event loop stopped running (a long synchronous stretch, a
 * SIGSTOP, a VM pause): a short timer that should tick every `intervalMs` and records every gap
 * longer than `thresholdMs`. Deadlines that judge others by silence (worker heartbeats) ask it how
 * long the master itself was deaf, and extend themselves by that much.
 */
export class LoopLag {
  #last: number;
  #timer: NodeJS.Timeout | null = null;
  /** Recent stalls, newest last; a bounded list (older ones no deadline can still ask about). */
  readonly #stalls: Array<{ readonly endedAt: number; readonly ms: number }> = [];
  #worstMs = 0;

  constructor(
    private readonly intervalMs = 100,
    private readonly thresholdMs = 1_000,
    private readonly clock: () => number = Date.now,
  ) {
    this.#last = clock();
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#last = this.clock();
    this.#timer = setInterval(() => this.tick(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The longest stall seen, for /metrics. */
  get worstMs(): number {
    return this.#worstMs;
  }

  /** One expected tick: a gap past the threshold is a stall. Public for tests with a fake clock. */
  tick(): void {
    const now = this.clock();
    const late = now - this.#last - this.intervalMs;
    if (late > this.thresholdMs) {
      this.#stalls.push({ endedAt: now, ms: late });
      if (this.#stalls.length > 64) this.#stalls.shift();
      this.#worstMs = Math.max(this.#worstMs, late);
    }
    this.#last = now;
  }

  /**
   * How long the loop was stalled after `since`: recorded stalls that ended after it (the part
   * after it), plus one in progress (the loop is running this call, but the ticker has not yet).
   */
  stalledSince(since: number): number {
    const now = this.clock();
    let total = 0;
    for (const stall of this.#stalls) {
      if (stall.endedAt > since) total += Math.min(stall.ms, stall.endedAt - since);
    }
    const current = now - this.#last - this.intervalMs;
    if (this.#timer !== null && current > this.thresholdMs) total += Math.min(current, now - Math.max(since, this.#last));
    return total;
  }
}

/**
 * When a heartbeat deadline armed at `armedAt` should fire again because the master itself was
 * deaf for `stalledMs` of it (heartbeats sat unread, the worker was not silent), or null when the
 * worker really is late. The new deadline leaves time to read the heartbeats queued meanwhile.
 */
export function extendedHeartbeatDeadline(armedAt: number, timeoutMs: number, stalledMs: number, now: number, intervalMs: number): number | null {
  if (stalledMs <= 0 || now - armedAt - stalledMs >= timeoutMs) return null;
  return Math.max(armedAt + timeoutMs + stalledMs, now + 2 * intervalMs);
}
