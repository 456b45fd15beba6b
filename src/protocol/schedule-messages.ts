import { z } from 'zod';
import { MISFIRE_POLICIES, OVERLAP_POLICIES } from '../core/schedule.js';
import { DagSubmitRequest } from './messages.js';

export type { ScheduleListReply, ScheduleRemoveReply, ScheduleReply, ScheduleView } from './schedule-views.js';

/** Message bodies of cron schedules (opcodes SCHEDULE_ADD/LIST/REMOVE/PAUSE/RESUME). */

const scheduleId = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'schedule ids are 1-128 characters of letters, digits, dot, dash or underscore');

/** A schedule: a DAG (its name and jobs, as DAG_SUBMIT takes them) run at each due time of `cron`. */
export const ScheduleAddRequest = DagSubmitRequest.extend({
  cron: z.string().min(1).max(200),
  /** IANA time zone the expression is read in; the master's local zone when left out. */
  tz: z.string().min(1).max(100).optional(),
  overlap: z.enum(OVERLAP_POLICIES).default('skip'),
  misfire: z.enum(MISFIRE_POLICIES).default('skip'),
});
export type ScheduleAddRequest = z.input<typeof ScheduleAddRequest>;

export const ScheduleRef = z.object({ id: scheduleId });
export const ScheduleListRequest = z.object({});
