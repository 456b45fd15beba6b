import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { jobView } from '../../master/find-job.js';
import type { Master } from '../../master/master.js';
import { Opcode } from '../../protocol/opcodes.js';
import type { LogLineView } from '../../protocol/views.js';
import { callMaster } from '../master-call.js';
import { SseStream, resumeOffset } from '../sse.js';
import { idParam, limit, parse } from '../validate.js';
import { httpContext } from './jobs.js';

const LogPageQuery = z.object({ after: z.coerce.number().int().min(0).default(0), limit: limit(1000, 10_000) });
const LogStreamQuery = z.object({ after: z.coerce.number().int().min(0).default(0) });

const DOWNLOAD_PAGE = 5000;
const PAGE_CHARS = 1024 * 1024;

/**
 * A job's log: pages of lines (JSON), a live stream (SSE, resumable from the last seq seen via
 * Last-Event-ID or ?after=), and the whole log as a text file.
 */
export function registerLogRoutes(app: FastifyInstance, master: Master): void {
  app.get('/api/v1/jobs/:id/logs', (request) => {
    const { id } = parse(idParam, request.params, 'path');
    const q = parse(LogPageQuery, request.query, 'query');
    jobView(master, id);
    // A page is bounded in text as well as lines: the client pages on from lastSeq.
    const lines: LogLineView[] = master.store.readLogs(id, q.after, q.limit, PAGE_CHARS).map(({ jobId: _jobId, ...line }) => line);
    return { lines, lastSeq: lines[lines.length - 1]?.seq ?? q.after };
  });

  // Each chunk of the TCP log stream becomes one `lines` event whose id is its last seq.
  app.get('/api/v1/jobs/:id/logs/stream', async (request, reply) => {
    const { id } = parse(idParam, request.params, 'path');
    const after = resumeOffset(request, parse(LogStreamQuery, request.query, 'query').after);
    jobView(master, id); // an unknown job is a 404 before the stream opens
    const sse = new SseStream(request, reply);
    const ctx = httpContext(request);
    sse.onClose(() => ctx.close());
    try {
      await callMaster(master, ctx, Opcode.JOB_LOGS, { jobId: id, afterSeq: after, follow: true }, {
        signal: sse.signal,
        chunk: (body) => {
          const lines = (body as { lines: LogLineView[] }).lines;
          return sse.send('lines', lines, lines[lines.length - 1]?.seq);
        },
        whenWritable: (cb) => sse.whenWritable(cb),
        end: (body) => sse.send('end', { ...(body as object), state: jobView(master, id).state }),
      });
    } catch (err) {
      sse.send('error', { error: (err as Error).message });
    }
    sse.close();
  });

  app.get('/api/v1/jobs/:id/logs/download', (request, reply) => {
    const { id } = parse(idParam, request.params, 'path');
    jobView(master, id);
    const fileName = `${id}.log`;
    void reply.header('content-type', 'text/plain; charset=utf-8').header('content-disposition', `attachment; filename="${fileName}"`);
    const store = master.store;
    let cursor = 0;
    // A generator keeps memory flat however long the log is: one page in memory at a time.
    async function* pages(): AsyncGenerator<string> {
      for (;;) {
        const lines = store.readLogs(id, cursor, DOWNLOAD_PAGE, PAGE_CHARS);
        if (lines.length === 0) return;
        cursor = lines[lines.length - 1]!.seq;
        yield lines.map((l) => `${l.line}\n`).join('');
        // Readable.from asks for the next page only once the response has taken this one.
        await Promise.resolve();
      }
    }
    return reply.send(Readable.from(pages()));
  });
}
