import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { JOB_STATES } from '../../core/job.js';
import type { HttpApiParts } from '../parts.js';
import { Opcode } from '../../protocol/opcodes.js';
import type { AttemptView, JobEventView, JobView } from '../../protocol/views.js';
import { callMaster } from '../master-call.js';
import { ClientContext } from '../../master/client-context.js';
import { idParam, limit, parse } from '../validate.js';

const JobListQuery = z.object({
  /** Comma-separated states. */
  state: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    )
    .pipe(z.array(z.enum(JOB_STATES)))
    .optional(),
  dag: idParam.shape.id.optional(),
  worker: idParam.shape.id.optional(),
  q: z.string().max(200).optional(),
  limit: limit(50, 1000),
  cursor: z.coerce.number().int().min(1).optional(),
});

const DecisionBody = z.object({ by: z.string().max(200).optional(), reason: z.string().max(2000).optional() }).default({});

/** A job's attempts, read from its transition history: one entry per attempt number. */
export function attemptsOf(job: JobView, events: readonly JobEventView[]): AttemptView[] {
  const byAttempt = new Map<number, { workerId: string | null; startedAt: number | null; finishedAt: number | null; state: string; detail: string | null }>();
  for (const event of events) {
    if (event.attempt < 1) continue;
    let entry = byAttempt.get(event.attempt);
    if (entry === undefined) byAttempt.set(event.attempt, (entry = { workerId: null, startedAt: null, finishedAt: null, state: event.to, detail: null }));
    if (event.workerId !== null) entry.workerId = event.workerId;
    if (event.to === 'running' && entry.startedAt === null) entry.startedAt = event.at;
    if (event.from === 'running' || event.from === 'assigned') entry.finishedAt = event.at;
    // A running attempt sent back to the queue (a retry, a lost worker) ended there: say so.
    entry.state = event.to === 'queued' && (event.from === 'running' || event.from === 'assigned') ? 'requeued' : event.to;
    if (event.detail !== null) entry.detail = event.detail;
  }
  const attempts = [...byAttempt.entries()].sort((a, b) => a[0] - b[0]).map(([attempt, e]) => ({ attempt, ...e }));
  const current = attempts.find((a) => a.attempt === job.attempt);
  if (current !== undefined && (current.state === 'running' || current.state === 'assigned')) current.finishedAt = null;
  return attempts;
}

export function httpContext(request: FastifyRequest): ClientContext {
  return new ClientContext(`http:${request.ip}`, request.identity);
}

/** Jobs: list (filters, search, pages), detail with attempts, submit, cancel, retry, approve, reject. */
export function registerJobRoutes(app: FastifyInstance, api: HttpApiParts): void {
  const call = (request: FastifyRequest, opcode: Parameters<typeof callMaster>[2], body: unknown): Promise<unknown> =>
    callMaster(api.requests, httpContext(request), opcode, body);

  app.get('/api/v1/jobs', (request) => {
    const q = parse(JobListQuery, request.query, 'query');
    return api.reads.jobPage(httpContext(request), {
      limit: q.limit,
      ...(q.state !== undefined ? { states: q.state } : {}),
      ...(q.dag !== undefined ? { dagId: q.dag } : {}),
      ...(q.worker !== undefined ? { workerId: q.worker } : {}),
      ...(q.q !== undefined ? { search: q.q } : {}),
      ...(q.cursor !== undefined ? { beforeSeq: q.cursor } : {}),
    });
  });

  app.get('/api/v1/jobs/:id', async (request) => {
    const { id } = parse(idParam, request.params, 'path');
    const history = (await call(request, Opcode.JOB_HISTORY, { jobId: id })) as { job: JobView; events: JobEventView[]; final: boolean };
    return { ...history, attempts: attemptsOf(history.job, history.events) };
  });

  app.post('/api/v1/jobs', async (request, reply) => {
    const answer = await call(request, Opcode.JOB_SUBMIT, request.body ?? {});
    return reply.code(201).send(answer);
  });

  for (const [verb, opcode] of [
    ['cancel', Opcode.JOB_CANCEL],
    ['retry', Opcode.JOB_RETRY],
    ['stop', Opcode.SERVICE_STOP],
    ['restart', Opcode.SERVICE_RESTART],
  ] as const) {
    app.post(`/api/v1/jobs/:id/${verb}`, (request) => call(request, opcode, { jobId: parse(idParam, request.params, 'path').id }));
  }

  for (const [verb, opcode] of [
    ['approve', Opcode.JOB_APPROVE],
    ['reject', Opcode.JOB_REJECT],
  ] as const) {
    app.post(`/api/v1/jobs/:id/${verb}`, (request) => {
      const { id } = parse(idParam, request.params, 'path');
      const body = parse(DecisionBody, request.body, 'body');
      return call(request, opcode, { jobId: id, ...body });
    });
  }
}
