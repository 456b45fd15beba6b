/** The arithmetic of a service's restart policy: whether, how soon, and when to give up. No clock inside. */
import type { ServicePolicy } from '../protocol/messages.js';

export interface RestartTiming {
  /** The delay before the second restart of a streak of quick crashes; the first is immediate. */
  readonly backoffStartMs: number;
  readonly backoffMaxMs: number;
  /** A process that stayed up this long ends a streak: its crash restarts at once again. */
  readonly stableAfterMs: number;
}

/**
 * As PM2's min_uptime (1 s): a process that stayed up a second started fine, and its crash is
 * restarted at once; quicker crashes back off. A crash loop is still ended by the policy's window.
 */
export const DEFAULT_RESTART_TIMING: RestartTiming = { backoffStartMs: 50, backoffMaxMs: 10_000, stableAfterMs: 1_000 };

/** Whether the policy restarts a process that exited with this code (null: killed by a signal). */
export function wantsRestart(restart: ServicePolicy['restart'], exitCode: number | null): boolean {
  switch (restart) {
    case 'always':
      return true;
    case 'on-failure':
      return exitCode !== 0;
    case 'never':
      return false;
    default: {
      const unknown: never = restart;
      throw new Error(`unknown restart policy ${String(unknown)}`);
    }
  }
}

/** How long to wait before restarting after the `streak`-th quick crash in a row (1-based). */
export function restartDelayMs(streak: number, timing: RestartTiming): number {
  if (streak <= 1) return 0;
  return Math.min(timing.backoffMaxMs, timing.backoffStartMs * 2 ** (streak - 2));
}

/** Counts restarts in a sliding window: more than `maxRestarts` within it is a crash loop. */
export class RestartWindow {
  readonly #times: number[] = [];

  constructor(
    private readonly maxRestarts: number,
    private readonly windowMs: number,
  ) {}

  /** Records a restart at `now` and returns true, or returns false when it would be one too many. */
  admit(now: number): boolean {
    while (this.#times.length > 0 && (this.#times[0] ?? now) <= now - this.windowMs) this.#times.shift();
    if (this.#times.length >= this.maxRestarts) return false;
    this.#times.push(now);
    return true;
  }

  /** Restarts recorded within the window as of the last admit. */
  get count(): number {
    return this.#times.length;
  }
}
