/**
 * Per-agent health: a resource watch (degraded when VRAM, CPU or RAM run short, with
 * hysteresis) and a circuit breaker driven by the outcome of real requests. Pure: every
 * function takes the state and `now` and returns the next state plus the transition, if any,
 * so the shell can log and count it.
 */
import type { AgentStatus } from './inference-placement.js';

export interface HealthConfig {
  /** Degraded above these usages (percent) or under this much free RAM (MB)... */
  readonly degradeVramPct: number;
  readonly degradeCpuPct: number;
  readonly degradeRamFreeMb: number;
  /** ...and healthy again only under these and over that. */
  readonly recoverVramPct: number;
  readonly recoverCpuPct: number;
  readonly recoverRamFreeMb: number;
  /** Consecutive failures (or timeouts) that open the breaker. */
  readonly failuresToOpen: number;
  /** How long an open breaker sends no traffic. */
  readonly openMs: number;
  /** How long the half-open window lasts before it opens again without enough successes. */
  readonly halfOpenMs: number;
  readonly successesToClose: number;
  /** Trial requests admitted per half-open window. */
  readonly halfOpenTrials: number;
}

export const DEFAULT_HEALTH: HealthConfig = {
  degradeVramPct: 90,
  degradeCpuPct: 90,
  degradeRamFreeMb: 512,
  recoverVramPct: 70,
  recoverCpuPct: 70,
  recoverRamFreeMb: 2048,
  failuresToOpen: 3,
  openMs: 30_000,
  halfOpenMs: 10_000,
  successesToClose: 2,
  halfOpenTrials: 3,
};

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface AgentHealth {
  readonly breaker: BreakerState;
  readonly degraded: boolean;
  readonly consecutiveFailures: number;
  /** When the open breaker turns half-open, or the half-open window ends (ms since epoch). */
  readonly until: number;
  readonly halfOpenSuccesses: number;
  readonly halfOpenAdmitted: number;
  /** Why the last transition happened, shown in status. */
  readonly reason: string;
  readonly since: number;
}

export interface ResourceReading {
  readonly vramTotalMb: number;
  readonly vramFreeMb: number;
  readonly cpuPercent: number;
  readonly ramFreeMb: number;
}

export type RequestOutcome = 'success' | 'failure' | 'timeout';

export interface Transition {
  readonly from: AgentStatus;
  readonly to: AgentStatus;
  readonly reason: string;
}

export interface HealthStep {
  readonly health: AgentHealth;
  readonly transition: Transition | null;
}

export function initialHealth(now: number): AgentHealth {
  return { breaker: 'closed', degraded: false, consecutiveFailures: 0, until: 0, halfOpenSuccesses: 0, halfOpenAdmitted: 0, reason: 'registered', since: now };
}

export function statusOf(health: AgentHealth): AgentStatus {
  if (health.breaker === 'open') return 'offline';
  if (health.breaker === 'half-open') return 'half-open';
  return health.degraded ? 'degraded' : 'healthy';
}

/** A heartbeat's resources: degraded past the upper thresholds, healthy again only under the lower ones. */
export function observeResources(health: AgentHealth, reading: ResourceReading, now: number, config: HealthConfig): HealthStep {
  // A GPU-less agent has no VRAM to run out of: 0 total is not 100 % used.
  const vramPct = reading.vramTotalMb > 0 ? (100 * (reading.vramTotalMb - reading.vramFreeMb)) / reading.vramTotalMb : 0;
  let degraded = health.degraded;
  let reason = health.reason;
  if (!health.degraded) {
    const causes: string[] = [];
    if (vramPct > config.degradeVramPct) causes.push(`VRAM ${vramPct.toFixed(0)} % used > ${config.degradeVramPct} %`);
    if (reading.cpuPercent > config.degradeCpuPct) causes.push(`CPU ${reading.cpuPercent.toFixed(0)} % > ${config.degradeCpuPct} %`);
    if (reading.ramFreeMb < config.degradeRamFreeMb) causes.push(`free RAM ${Math.round(reading.ramFreeMb)} MB < ${config.degradeRamFreeMb} MB`);
    if (causes.length > 0) {
      degraded = true;
      reason = causes.join(', ');
    }
  } else if (vramPct < config.recoverVramPct && reading.cpuPercent < config.recoverCpuPct && reading.ramFreeMb > config.recoverRamFreeMb) {
    degraded = false;
    reason = 'resources recovered';
  }
  if (degraded === health.degraded) return { health, transition: null };
  return step(health, { ...health, degraded, reason, since: now });
}

/** Moves an open breaker to half-open, and a half-open one that ran out of time back to open. */
export function advanceHealth(health: AgentHealth, now: number, config: HealthConfig): HealthStep {
  if (health.breaker === 'open' && now >= health.until) {
    return step(health, {
      ...health,
      breaker: 'half-open',
      until: now + config.halfOpenMs,
      halfOpenSuccesses: 0,
      halfOpenAdmitted: 0,
      reason: `open for ${config.openMs} ms: admitting trial requests`,
      since: now,
    });
  }
  if (health.breaker === 'half-open' && now >= health.until) {
    return step(
      health,
      open(health, now, config, `only ${health.halfOpenSuccesses} of ${config.successesToClose} trial successes within ${config.halfOpenMs} ms`),
    );
  }
  return { health, transition: null };
}

/** True when routing may send this agent a request now (a half-open agent has trials left). */
export function admitsTrial(health: AgentHealth, config: HealthConfig): boolean {
  return health.breaker !== 'half-open' || health.halfOpenAdmitted < config.halfOpenTrials;
}

/** Counts a request routed to a half-open agent against its trial budget. */
export function noteRouted(health: AgentHealth): AgentHealth {
  return health.breaker === 'half-open' ? { ...health, halfOpenAdmitted: health.halfOpenAdmitted + 1 } : health;
}

/** A request's outcome as the gateway reported it. */
export function recordOutcome(health: AgentHealth, outcome: RequestOutcome, now: number, config: HealthConfig): HealthStep {
  const current = advanceHealth(health, now, config);
  const h = current.health;
  if (outcome === 'success') {
    if (h.breaker === 'half-open') {
      const successes = h.halfOpenSuccesses + 1;
      if (successes >= config.successesToClose) {
        return merge(
          current,
          step(h, {
            ...h,
            breaker: 'closed',
            consecutiveFailures: 0,
            halfOpenSuccesses: 0,
            halfOpenAdmitted: 0,
            until: 0,
            reason: `${successes} trial successes`,
            since: now,
          }),
        );
      }
      return merge(current, { health: { ...h, halfOpenSuccesses: successes, consecutiveFailures: 0 }, transition: null });
    }
    return merge(current, { health: h.consecutiveFailures === 0 ? h : { ...h, consecutiveFailures: 0 }, transition: null });
  }
  const failures = h.consecutiveFailures + 1;
  if (h.breaker === 'half-open')
    return merge(current, step(h, open({ ...h, consecutiveFailures: failures }, now, config, `trial request ended in ${outcome}`)));
  if (h.breaker === 'closed' && failures >= config.failuresToOpen) {
    return merge(current, step(h, open({ ...h, consecutiveFailures: failures }, now, config, `${failures} consecutive failures (last: ${outcome})`)));
  }
  return merge(current, { health: { ...h, consecutiveFailures: failures }, transition: null });
}

function open(health: AgentHealth, now: number, config: HealthConfig, reason: string): AgentHealth {
  return { ...health, breaker: 'open', until: now + config.openMs, halfOpenSuccesses: 0, halfOpenAdmitted: 0, reason, since: now };
}

function step(before: AgentHealth, after: AgentHealth): HealthStep {
  const from = statusOf(before);
  const to = statusOf(after);
  return { health: after, transition: from === to ? null : { from, to, reason: after.reason } };
}

/** Two steps in a row as one: the later state, and the transition from the first state to it. */
function merge(first: HealthStep, second: HealthStep): HealthStep {
  if (first.transition === null) return second;
  if (second.transition === null) return { health: second.health, transition: first.transition };
  return { health: second.health, transition: { from: first.transition.from, to: second.transition.to, reason: second.transition.reason } };
}
