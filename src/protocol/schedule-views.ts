import type { MisfirePolicy, OverlapPolicy } from '../core/schedule.js';

// Replies of the schedule opcodes, apart from their request schemas so a client's types do not
// load the cron compiler those schemas validate with.

/** A schedule as clients see it. */
export interface ScheduleView {
  readonly id: string;
  readonly name: string;
  readonly cron: string;
  readonly tz: string | null;
  readonly overlap: OverlapPolicy;
  readonly misfire: MisfirePolicy;
  readonly paused: boolean;
  /** How many jobs each run has. */
  readonly jobs: number;
  readonly createdAt: number;
  /** The due time of the last fire and the DAG it created; null before the first. */
  readonly lastDueAt: number | null;
  readonly lastDagId: string | null;
  /** When it fires next; null when paused or the expression has no more due times. */
  readonly nextDueAt: number | null;
  /** Runs waiting for the running one to finish (overlap: queue). */
  readonly queued: number;
}

export interface ScheduleReply {
  readonly schedule: ScheduleView;
}
export interface ScheduleListReply {
  readonly schedules: ScheduleView[];
}
export interface ScheduleRemoveReply {
  readonly removed: true;
}
