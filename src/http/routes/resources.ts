import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { HttpApiParts } from '../parts.js';
import { Opcode } from '../../protocol/opcodes.js';
import type { ClusterStatsView } from '../../protocol/views.js';
import { callMaster } from '../master-call.js';
import { idParam, limit, parse } from '../validate.js';
import { httpContext } from './jobs.js';

const KeyParam = z.object({ key: z.string().min(1).max(512) });
const KvPutBody = z.object({ value: z.string(), ttlSeconds: z.number().positive().optional() });
const DlqQuery = z.object({ limit: limit(50, 1000), cursor: z.coerce.number().int().min(1).optional() });

/** Cluster, workers, services, schedules, the DLQ and the KV store: each route is one master operation. */
export function registerResourceRoutes(app: FastifyInstance, api: HttpApiParts): void {
  const call = (request: FastifyRequest, opcode: Parameters<typeof callMaster>[2], body: unknown): Promise<unknown> =>
    callMaster(api.requests, httpContext(request), opcode, body);

  app.get('/api/v1/cluster', (request) => call(request, Opcode.CLUSTER_STATS, {}));
  app.get('/api/v1/workers', async (request) => ({ workers: ((await call(request, Opcode.CLUSTER_STATS, {})) as ClusterStatsView).workers }));
  app.post('/api/v1/workers/:id/shutdown', (request) => call(request, Opcode.WORKER_SHUTDOWN, { workerId: parse(idParam, request.params, 'path').id }));

  app.get('/api/v1/services', (request) => call(request, Opcode.SERVICE_LIST, {}));
  app.post('/api/v1/services/:id/stop', (request) => call(request, Opcode.SERVICE_STOP, { jobId: parse(idParam, request.params, 'path').id }));
  app.post('/api/v1/services/:id/restart', (request) => call(request, Opcode.SERVICE_RESTART, { jobId: parse(idParam, request.params, 'path').id }));

  app.get('/api/v1/schedules', (request) => call(request, Opcode.SCHEDULE_LIST, {}));
  app.post('/api/v1/schedules', async (request, reply) => reply.code(201).send(await call(request, Opcode.SCHEDULE_ADD, request.body ?? {})));
  app.post('/api/v1/schedules/:id/pause', (request) => call(request, Opcode.SCHEDULE_PAUSE, { id: parse(idParam, request.params, 'path').id }));
  app.post('/api/v1/schedules/:id/resume', (request) => call(request, Opcode.SCHEDULE_RESUME, { id: parse(idParam, request.params, 'path').id }));
  app.delete('/api/v1/schedules/:id', (request) => call(request, Opcode.SCHEDULE_REMOVE, { id: parse(idParam, request.params, 'path').id }));

  // The DLQ is the dead jobs; a retry is the job retry (it reopens the job's DAG).
  app.get('/api/v1/dlq', (request) => {
    const q = parse(DlqQuery, request.query, 'query');
    return api.reads.jobPage(httpContext(request), { states: ['dead'], limit: q.limit, ...(q.cursor !== undefined ? { beforeSeq: q.cursor } : {}) });
  });
  app.post('/api/v1/dlq/:id/retry', (request) => call(request, Opcode.JOB_RETRY, { jobId: parse(idParam, request.params, 'path').id }));

  app.get('/api/v1/kv/:key', async (request) => {
    const { key } = parse(KeyParam, request.params, 'path');
    return { key, ...((await call(request, Opcode.KV_GET, { key })) as object) };
  });
  app.put('/api/v1/kv/:key', async (request) => {
    const { key } = parse(KeyParam, request.params, 'path');
    const body = parse(KvPutBody, request.body, 'body');
    return { key, ...((await call(request, Opcode.KV_PUT, { key, ...body })) as object) };
  });
  app.delete('/api/v1/kv/:key', async (request) => {
    const { key } = parse(KeyParam, request.params, 'path');
    return { key, ...((await call(request, Opcode.KV_DELETE, { key })) as object) };
  });
  app.get('/api/v1/kv/:key/members', async (request) => {
    const { key } = parse(KeyParam, request.params, 'path');
    return { key, ...((await call(request, Opcode.KV_SMEMBERS, { key })) as object) };
  });
}
