import type { FastifyInstance } from 'fastify';
import type { HttpApiParts } from '../parts.js';

/** Liveness (the process answers) and readiness (state recovered, TCP port accepting). */
export function registerHealthRoutes(app: FastifyInstance, api: HttpApiParts): void {
  app.get('/healthz', () => {
    // A standby's /healthz says role "standby" and who leads (master/standby/standby-http.ts); a leader says so too.
    const epoch = api.reads.leaderEpoch();
    return epoch === null ? { ok: true } : { ok: true, role: 'leader', epoch };
  });
  app.get('/readyz', async (_request, reply) => {
    if (!api.reads.ready) return reply.code(503).send({ ready: false, reason: 'the master is still recovering its state or not yet listening' });
    return { ready: true, workers: api.reads.liveWorkers().length };
  });
}
