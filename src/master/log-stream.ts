import { isFinal } from '../core/job.js';
import type { Replier } from '../protocol/replier.js';
import { jobView } from './find-job.js';
import type { Master } from './master.js';
import type { ClientContext } from './client-context.js';

export type LogStreamHost = Pick<Master, 'reads' | 'watchers'>;

/** Lines per chunk at most, and text per chunk at most: what the master holds for one reader. */
export const LOG_PAGE_LINES = 1000;
export const LOG_PAGE_CHARS = 256 * 1024;

/**
 * Sends a job's stored lines as stream chunks at the reader's pace: one page, then the next only
 * once the connection has taken it (and after other work had its turn), so a slow or vanished
 * reader costs the master one page, not the whole log. With follow, keeps sending as lines
 * arrive and ends once the job is final and every line it wrote has been sent. Stops as soon as
 * the reader cancels or its connection closes.
 */
export function streamLogs(master: LogStreamHost, session: ClientContext, req: { jobId: string; afterSeq: number; follow: boolean }, reply: Replier): void {
  jobView(master, req.jobId); // throws E_UNKNOWN_JOB before anything is streamed
  let cursor = req.afterSeq;
  let ended = false;
  /** A page is on its way (or waits for the reader); new lines are picked up when it is sent. */
  let pumping = false;
  let stopWatching = (): void => undefined;
  const finish = (): void => {
    ended = true;
    stopWatching();
    reply.end({ lastSeq: cursor });
  };
  const step = (): void => {
    if (ended) return;
    if (reply.signal.aborted) {
      ended = true;
      stopWatching();
      return;
    }
    const lines = master.reads.readLogs(req.jobId, cursor, LOG_PAGE_LINES, LOG_PAGE_CHARS);
    if (lines.length === 0) {
      pumping = false;
      if (!req.follow || isFinal(jobView(master, req.jobId).state)) finish();
      return;
    }
    cursor = lines[lines.length - 1]!.seq;
    const writable = reply.chunk({ lines: lines.map((l) => ({ seq: l.seq, attempt: l.attempt, stream: l.stream, at: l.at, line: l.line })) });
    if (writable) setImmediate(step);
    else reply.whenWritable(step);
  };
  const pump = (): void => {
    if (pumping || ended) return;
    pumping = true;
    step();
  };
  if (req.follow) {
    const unwatch = master.watchers.onLogs(req.jobId, pump);
    const forget = session.onClose(unwatch);
    stopWatching = () => {
      unwatch();
      forget();
    };
  }
  pump();
}
