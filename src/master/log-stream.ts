import { isFinal } from '../core/job.js';
import type { StoredLogLine } from '../store/store.js';
import type { Replier } from '../protocol/replier.js';
import { replyError } from './durable-reply.js';
import { jobView } from './find-job.js';
import type { Master } from './master.js';
import type { ClientContext } from './client-context.js';

export type LogStreamHost = Pick<Master, 'reads' | 'watchers' | 'logs'>;

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
  // E_UNKNOWN_JOB is answered before anything is streamed.
  void jobView(master, req.jobId).then(
    () => pumpLogs(master, session, req, reply),
    (err: unknown) => replyError(reply, err),
  );
}

/** Reads and sends pages while there are lines; with follow, wakes when lines are appended. */
function pumpLogs(master: LogStreamHost, session: ClientContext, req: { jobId: string; afterSeq: number; follow: boolean }, reply: Replier): void {
  let cursor = req.afterSeq;
  let ended = false;
  /** A page is being read, is on its way, or waits for the reader; new lines are picked up after it. */
  let pumping = false;
  /** Lines were appended while a page was read: read again before going idle. */
  let appended = false;
  let stopWatching = (): void => undefined;
  const stop = (): void => {
    ended = true;
    stopWatching();
  };
  const finish = (): void => {
    stop();
    reply.end({ lastSeq: cursor });
  };
  const fail = (err: unknown): void => {
    stop();
    replyError(reply, err);
  };
  const step = (): void => {
    if (ended) return;
    if (reply.signal.aborted) return stop();
    appended = false;
    master.reads.readLogs(req.jobId, cursor, LOG_PAGE_LINES, LOG_PAGE_CHARS).then(send, fail);
  };
  const send = (lines: StoredLogLine[]): void => {
    if (ended) return;
    if (lines.length > 0) {
      cursor = lines[lines.length - 1]!.seq;
      const writable = reply.chunk({ lines: lines.map((l) => ({ seq: l.seq, attempt: l.attempt, stream: l.stream, at: l.at, line: l.line })) });
      if (writable) setImmediate(step);
      else reply.whenWritable(step);
      return;
    }
    if (!req.follow) return finish();
    if (appended) return step();
    if (master.reads.job(req.jobId) !== undefined) return void (pumping = false);
    void jobView(master, req.jobId).then((view) => {
      if (ended) return;
      if (!isFinal(view.state)) return appended ? step() : void (pumping = false);
      // A worker sends a job's lines before its result, so they reached the intake first; those
      // still being stored are read once they are, then the stream ends.
      const storing = master.logs.pending(req.jobId);
      if (storing === undefined && !appended) return finish();
      void (storing ?? Promise.resolve()).then(step, fail);
    }, fail);
  };
  const pump = (): void => {
    if (ended) return;
    if (pumping) {
      appended = true;
      return;
    }
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
