import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HttpApiParts } from '../parts.js';
import { SseStream, resumeOffset } from '../sse.js';
import { parse } from '../validate.js';
import { httpContext } from './jobs.js';

const EventsQuery = z.object({ after: z.coerce.number().int().min(0).optional() });

/**
 * Live job transitions as Server-Sent Events (`event: job`, id = the feed's event id). A client
 * that reconnects with Last-Event-ID gets what it missed; if that has left the master's ring it
 * gets `event: reset` and should reload its lists. A namespaced token gets its namespace's jobs only.
 */
export function registerEventRoutes(app: FastifyInstance, api: HttpApiParts): void {
  app.get('/api/v1/events', (request, reply) => {
    const q = parse(EventsQuery, request.query, 'query');
    const after = resumeOffset(request, q.after ?? api.reads.feed.lastId);
    const caller = httpContext(request);
    const sse = new SseStream(request, reply);
    const missed = api.reads.feed.since(after);
    if (missed === null) sse.send('reset', { lastId: api.reads.feed.lastId }, api.reads.feed.lastId);
    else for (const event of missed) if (caller.sees(event.jobId)) sse.send('job', event, event.id);
    sse.onClose(
      api.reads.feed.subscribe((event) => {
        if (caller.sees(event.jobId)) sse.send('job', event, event.id);
      }),
    );
  });
}
