import type { ErrorCode } from '../common/errors.js';
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
 * outcome and what was created, then passes the answer on unchanged.
 */
export function auditedReply(reply: Replier, target: string, write: (target: string, result: string) => void): Replier {
  let written = false;
  const once = (result: string, body?: unknown): void => {
    if (written) return;
    written = true;
    const created = createdIds(body).filter((id) => !target.split(',').includes(id));
    write([target, ...created].filter((t) => t.length > 0).join(','), result);
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
      reply.ok(body);
    },
    error(code: ErrorCode, message: string): void {
      once(`error ${code}: ${message.slice(0, 300)}`);
      reply.error(code, message);
    },
    chunk(body: unknown): boolean {
      return reply.chunk(body);
    },
    whenWritable(cb: () => void): void {
      reply.whenWritable(cb);
    },
    end(body?: unknown): void {
      once('ok', body);
      reply.end(body);
    },
  };
}
