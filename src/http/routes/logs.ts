import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HttpApiParts } from '../parts.js';
import { Opcode } from '../../protocol/opcodes.js';
import type { JobView, LogLineView } from '../../protocol/views.js';
import { callMaster } from '../master-call.js';
import type { ClientContext } from '../../master/client-context.js';
import { SseStream, resumeOffset } from '../sse.js';
import { idParam, limit, parse } from '../validate.js';
import { httpContext } from './jobs.js';

const LogPageQuery = z.object({ after: z.coerce.number().int().min(0).default(0), limit: limit(1000, 10_000) });
const LogStreamQuery = z.object({ after: z.coerce.number().int().min(0).default(0) });

const PAGE_CHARS = 1024 * 1024;

/** The job as JOB_STATUS answers it: an unknown job is a 404 before anything is streamed. */
async function jobOf(api: HttpApiParts, ctx: ClientContext, jobId: string): Promise<JobView> {
  return (await callMaster(api.requests, ctx, Opcode.JOB_STATUS, { jobId })) as JobView;
}

/** One page of lines through JOB_LOGS, as TCP reads them: at most `maxLines`, and about PAGE_CHARS of text. */
function logPage(api: HttpApiParts, ctx: ClientContext, jobId: string, after: number, maxLines: number): Promise<LogLineView[]> {
  return new Promise((resolve, reject) => {
    const abort = new AbortController();
    const lines: LogLineView[] = [];
    let chars = 0;
    const enough = (): false => {
      abort.abort();
      resolve(lines);
      return false;
    };
    callMaster(
      api.requests,
      ctx,
      Opcode.JOB_LOGS,
      { jobId, afterSeq: after, follow: false },
      {
        signal: abort.signal,
        chunk: (body) => {
          for (const line of (body as { lines: LogLineView[] }).lines) {
            lines.push(line);
            chars += line.line.length;
            if (lines.length >= maxLines || chars >= PAGE_CHARS) return enough();
          }
          return true;
        },
        end: () => undefined,
      },
    ).then(() => resolve(lines), reject);
  });
}

/** The whole log as text, read through JOB_LOGS at the client's pace: one chunk in memory at a time. */
function logText(api: HttpApiParts, ctx: ClientContext, jobId: string): Readable {
  const abort = new AbortController();
  let resume: (() => void) | null = null;
  const wake = (): void => {
    const next = resume;
    resume = null;
    next?.();
  };
  const text = new Readable({ read: wake });
  text.on('close', () => {
    abort.abort();
    wake();
  });
  callMaster(
    api.requests,
    ctx,
    Opcode.JOB_LOGS,
    { jobId, afterSeq: 0, follow: false },
    {
      signal: abort.signal,
      chunk: (body) => text.push((body as { lines: LogLineView[] }).lines.map((l) => `${l.line}\n`).join('')),
      whenWritable: (cb) => {
        resume = cb;
      },
      end: () => text.push(null),
    },
  ).catch((err: unknown) => text.destroy(err as Error));
  return text;
}

/**
 * A job's log: pages of lines (JSON), a live stream (SSE, resumable from the last seq seen via
 * Last-Event-ID or ?after=), and the whole log as a text file. All three are the TCP protocol's
 * JOB_LOGS operation.
 */
export function registerLogRoutes(app: FastifyInstance, api: HttpApiParts): void {
  app.get('/api/v1/jobs/:id/logs', async (request) => {
    const { id } = parse(idParam, request.params, 'path');
    const q = parse(LogPageQuery, request.query, 'query');
    const ctx = httpContext(request);
    try {
      // A page is bounded in text as well as lines: the client pages on from lastSeq.
      const lines = await logPage(api, ctx, id, q.after, q.limit);
      return { lines, lastSeq: lines[lines.length - 1]?.seq ?? q.after };
    } finally {
      ctx.close();
    }
  });

  // Each chunk of the TCP log stream becomes one `lines` event whose id is its last seq.
  app.get('/api/v1/jobs/:id/logs/stream', async (request, reply) => {
    const { id } = parse(idParam, request.params, 'path');
    const after = resumeOffset(request, parse(LogStreamQuery, request.query, 'query').after);
    const ctx = httpContext(request);
    await jobOf(api, ctx, id);
    const sse = new SseStream(request, reply);
    sse.onClose(() => ctx.close());
    try {
      const answer = await callMaster(
        api.requests,
        ctx,
        Opcode.JOB_LOGS,
        { jobId: id, afterSeq: after, follow: true },
        {
          signal: sse.signal,
          chunk: (body) => {
            const lines = (body as { lines: LogLineView[] }).lines;
            return sse.send('lines', lines, lines[lines.length - 1]?.seq);
          },
          whenWritable: (cb) => sse.whenWritable(cb),
          end: () => undefined,
        },
      );
      sse.send('end', { ...(answer as object), state: (await jobOf(api, ctx, id)).state });
    } catch (err) {
      sse.send('error', { error: (err as Error).message });
    }
    sse.close();
  });

  app.get('/api/v1/jobs/:id/logs/download', async (request, reply) => {
    const { id } = parse(idParam, request.params, 'path');
    const ctx = httpContext(request);
    await jobOf(api, ctx, id);
    void reply.header('content-type', 'text/plain; charset=utf-8').header('content-disposition', `attachment; filename="${id}.log"`);
    const text = logText(api, ctx, id);
    text.on('close', () => ctx.close());
    return reply.send(text);
  });
}
