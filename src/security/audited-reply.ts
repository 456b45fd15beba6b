import { ErrorCode, TitanError } from '../common/errors.js';
import type { Committing } from './pending-writes.js';
import type { Replier } from '../protocol/replier.js';

/** Names of answer fields that say what a request created; never `token` (a new token's secret). */
export function createdIds(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const b = body as Record<string, unknown>;
  const out: string[] = [];
  for (const field of ['jobId', 'dagId', 'id']) if (typeof b[field] === 'string') out.push(b[field]);
  if (Array.isArray(b.jobIds)) out.push(...b.jobIds.filter((j): j is string => typeof j === 'string').slice(0, 20));
  for (const nested of ['info', 'revoked', 'schedule']) {
    const inner = b[nested];
    if (typeof inner === 'object' && inner !== null) {
      const named = inner as Record<string, unknown>;
      if (typeof named.name === 'string') out.push(named.name);
      else if (typeof named.id === 'string') out.push(named.id);
    }
  }
  return out;
}

/**
 * Wraps a Replier so that the first answer (ok, error or end) writes one ledger row with the
 * outcome and what was created, then passes the answer on unchanged. When `write` returns what
 * is committing (the writes the answer depends on, still committing to PostgreSQL: Security.record),
 * the answer waits for them; should they fail, the answer is their error instead of an ok.
 */
export function auditedReply(reply: Replier, target: string, write: (target: string, result: string) => Committing | undefined | void): Replier {
  let written = false;
  let committing: Committing | undefined | void;
  const once = (result: string, body?: unknown): void => {
    if (written) return;
    written = true;
    const created = createdIds(body).filter((id) => !target.split(',').includes(id));
    committing = write([target, ...created].filter((t) => t.length > 0).join(','), result);
  };
  const answer = (send: () => void): void => {
    if (committing === undefined) return send();
    committing.after(send, (err: unknown) => {
      const error = err instanceof TitanError ? err : new TitanError(ErrorCode.INTERNAL, (err as Error).message);
      reply.error(error.code, error.message);
    });
  };
  return {
    get expectsReply() {
      return reply.expectsReply;
    },
    get signal() {
      return reply.signal;
    },
    ok(body?: unknown): void {
      once('ok', body);
      answer(() => reply.ok(body));
    },
    error(code: ErrorCode, message: string): void {
      once(`error ${code}: ${message.slice(0, 300)}`);
      answer(() => reply.error(code, message));
    },
    chunk(body: unknown): boolean {
      return reply.chunk(body);
    },
    whenWritable(cb: () => void): void {
      reply.whenWritable(cb);
    },
    end(body?: unknown): void {
      once('ok', body);
      answer(() => reply.end(body));
    },
  };
}
