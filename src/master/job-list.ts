import type { JobFilter } from '../store/store.js';
import type { ClientContext } from './client-context.js';
import { toJobView, type JobView } from './job-view.js';
import type { Master } from './master.js';

export type JobListHost = Pick<Master, 'reads'>;

export interface JobPage {
  readonly jobs: JobView[];
  /** Pass as `beforeSeq` for the next (older) page; null when this page is the last. */
  readonly nextCursor: number | null;
}

/**
 * Jobs newest first as clients see them (the in-memory job while active), one page at a time:
 * `titan jobs` over TCP and `GET /api/v1/jobs` both list through here. A namespaced caller's
 * page holds only its namespace's jobs (filtered in the query, so a page is never short).
 */
export async function listJobPage(master: JobListHost, caller: Pick<ClientContext, 'idPrefix'>, filter: Omit<JobFilter, 'idPrefix'>): Promise<JobPage> {
  const rows = await master.reads.listJobs({ ...filter, idPrefix: caller.idPrefix, limit: filter.limit + 1 });
  const now = Date.now();
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  return {
    jobs: page.map((j) => {
      const live = master.reads.job(j.id);
      return live !== undefined ? toJobView(live, master.reads.waitingReason(live, now)) : toJobView(j);
    }),
    nextCursor: rows.length > filter.limit && last !== undefined ? last.seq : null,
  };
}
