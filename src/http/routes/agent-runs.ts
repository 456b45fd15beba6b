import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { SeesId } from '../../master/agent-runs.js';
import { inNamespace } from '../../security/policy.js';
import type { HttpApiParts } from '../parts.js';
import { idParam, limit, parse } from '../validate.js';

const Query = z.object({ limit: limit(50, 1000) });

/** A namespaced token sees only its namespace's DAGs, in agent runs as everywhere else. */
function seesOf(request: FastifyRequest): SeesId {
  const identity = request.identity;
  return (id) => identity === null || inNamespace(identity, id);
}

/** Agent runs: DAGs submitted under one agent_run_id, grouped, with their timeline. */
export function registerAgentRunRoutes(app: FastifyInstance, api: HttpApiParts): void {
  app.get('/api/v1/agent-runs', async (request) => ({ agentRuns: await api.reads.agentRuns(parse(Query, request.query, 'query').limit, seesOf(request)) }));
  app.get('/api/v1/agent-runs/:id', (request) => api.reads.agentRun(parse(idParam, request.params, 'path').id, seesOf(request)));
}
