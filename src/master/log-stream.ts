import { isFinal } from '../core/job.js';
import type { Replier } from '../protocol/replier.js';
import { jobView } from './find-job.js';
import type { Master } from './master.js';
import type { ClientContext } from './client-context.js';

const PAGE = 1000;

/**
 * Sends a job's stored lines as stream chunks; with follow, keeps sending as lines arrive and
 * ends once the job is final and every line it wrote has been sent.
 */
export function streamLogs(master: Master, session: ClientContext, req: { jobId: string; afterSeq: number; follow: boolean }, reply: Replier): void {
  jobView(master, req.jobId); // throws E_UNKNOWN_JOB before anything is streamed
  let cursor = req.afterSeq;
  let ended = false;
  const drain = (): void => {
    for (;;) {
      const lines = master.store.readLogs(req.jobId, cursor, PAGE);
      if (lines.length === 0) break;
      cursor = lines[lines.length - 1]!.seq;
      reply.chunk({ lines: lines.map((l) => ({ seq: l.seq, attempt: l.attempt, stream: l.stream, at: l.at, line: l.line })) });
      if (lines.length < PAGE) break;
    }
  };
  const finishIfDone = (): boolean => {
    if (!req.follow || isFinal(jobView(master, req.jobId).state)) {
      ended = true;
      reply.end({ lastSeq: cursor });
      return true;
    }
    return false;
  };
  drain();
  if (finishIfDone()) return;
  const stop = master.watchers.onLogs(req.jobId, () => {
    if (ended) return;
    drain();
    if (finishIfDone()) {
      stop();
      forget();
    }
  });
  const forget = session.onClose(stop);
}
