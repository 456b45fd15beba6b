import type { JobFilter } from '../store/store.js';
import { toJobView, type JobView } from './job-view.js';
import type { Master } from './master.js';

export interface JobPage {
  readonly jobs: JobView[];
  /** Pass as `beforeSeq` for the next (older) page; null when this page is the last. */
  readonly nextCursor: number | null;
}

/**
 * Jobs newest first as clients see them (the in-memory job while active), one page at a time:
 * `titan jobs` over TCP and `GET /api/v1/jobs` both list through here.
 */
export function listJobPage(master: Master, filter: JobFilter): JobPage {
  const rows = master.store.listJobs({ ...filter, limit: filter.limit + 1 });
  const now = Date.now();
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  return {
    jobs: page.map((j) => {
      const live = master.scheduler.job(j.id);
      return live !== undefined ? toJobView(live, master.scheduler.waitingReason(live, now)) : toJobView(j);
    }),
    nextCursor: rows.length > filter.limit && last !== undefined ? last.seq : null,
  };
}
