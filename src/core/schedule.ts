/**
 * When a cron schedule fires: a pure decision over its state and the time, so every case
 * (on time, after downtime, while its previous run still goes, paused) is a one-line unit test.
 * Cron math is handed in (`CronTimes`); the master builds it from the expression with croner.
 */

export const OVERLAP_POLICIES = ['skip', 'allow', 'queue'] as const;
/** What to do when a due time comes while the schedule's previous run is still going. */
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export const MISFIRE_POLICIES = ['skip', 'run_once'] as const;
/** What to do with due times that passed unserved (the master was down, or its timer very late). */
export type MisfirePolicy = (typeof MISFIRE_POLICIES)[number];

/** At most this many runs wait behind a running one (overlap: queue); further due times are skipped. */
export const MAX_QUEUED_RUNS = 10;

import type { CronTimes } from '../common/cron-times.js';

export interface ScheduleState {
  readonly overlap: OverlapPolicy;
  readonly misfire: MisfirePolicy;
  readonly paused: boolean;
  /** The due time of the last fire; null when it never fired. */
  readonly lastFiredFor: number | null;
  /** Due times at or before this are settled without a fire (created, resumed, skipped or queued then). */
  readonly settledThrough: number;
  /** Whether the schedule's last run is still going. */
  readonly running: boolean;
  /** Runs waiting for the running one to finish (overlap: queue). */
  readonly queued: number;
}

export type ScheduleReason =
  | 'on_time' // one due time passed, just now: fire it
  | 'misfire_run_once' // several passed (or one long ago): fire once, for the latest
  | 'misfire_skipped' // several passed (or one long ago) and misfire is skip: none fires
  | 'overlap_skipped' // due while the previous run goes, overlap skip (or the queue is full)
  | 'overlap_queued' // due while the previous run goes, overlap queue: fire when it finishes
  | 'paused'
  | 'not_due'
  | 'no_more_runs'; // the expression has no future due time

export interface ScheduleDecision {
  readonly fire: boolean;
  readonly reason: ScheduleReason;
  /** The due time this decision settles (fired, skipped or queued); null when none was due. */
  readonly dueAt: number | null;
  /** When to decide again: the first due time after now; null when paused or none is left. */
  readonly nextDue: number | null;
}

/**
 * Decides whether a schedule fires now. A due time is on time when it is the only one passed
 * since the last settled one and at most `graceMs` old; anything else is a misfire.
 */
export function decideSchedule(state: ScheduleState, cron: CronTimes, now: number, graceMs: number): ScheduleDecision {
  if (state.paused) return { fire: false, reason: 'paused', dueAt: null, nextDue: null };
  const cursor = Math.max(state.lastFiredFor ?? -Infinity, state.settledThrough);
  const first = cron.nextAfter(cursor);
  if (first === null) return { fire: false, reason: 'no_more_runs', dueAt: null, nextDue: null };
  if (first > now) return { fire: false, reason: 'not_due', dueAt: null, nextDue: first };
  const second = cron.nextAfter(first);
  const onlyOne = second === null || second > now;
  const latest = onlyOne ? first : (cron.latestAtOrBefore(now) ?? first);
  const nextDue = cron.nextAfter(Math.max(now, latest));
  const onTime = onlyOne && now - first <= graceMs;
  if (!onTime && state.misfire === 'skip') return { fire: false, reason: 'misfire_skipped', dueAt: latest, nextDue };
  if (state.running && state.overlap !== 'allow') {
    const queue = state.overlap === 'queue' && state.queued < MAX_QUEUED_RUNS;
    return { fire: false, reason: queue ? 'overlap_queued' : 'overlap_skipped', dueAt: latest, nextDue };
  }
  return { fire: true, reason: onTime ? 'on_time' : 'misfire_run_once', dueAt: latest, nextDue };
}

/** Whether a queued run starts now: one waits, the previous one is over and the schedule is not paused. */
export function startsQueuedRun(state: ScheduleState): boolean {
  return state.queued > 0 && !state.running && !state.paused;
}
