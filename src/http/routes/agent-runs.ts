import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import { agentRun, listAgentRuns, type SeesId } from '../../master/agent-runs.js';
import { inNamespace } from '../../security/policy.js';
import type { Master } from '../../master/master.js';
import { idParam, limit, parse } from '../validate.js';

const Query = z.object({ limit: limit(50, 1000) });

/** A namespaced token sees only its namespace's DAGs, in agent runs as everywhere else. */
function seesOf(request: FastifyRequest): SeesId {
  const identity = request.identity;
  return (id) => identity === null || inNamespace(identity, id);
}

/** Agent runs: DAGs submitted under one agent_run_id, grouped, with their timeline. */
export function registerAgentRunRoutes(app: FastifyInstance, master: Master): void {
  app.get('/api/v1/agent-runs', (request) => ({ agentRuns: listAgentRuns(master, parse(Query, request.query, 'query').limit, seesOf(request)) }));
  app.get('/api/v1/agent-runs/:id', (request) => agentRun(master, parse(idParam, request.params, 'path').id, seesOf(request)));
}
