import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { agentRun, listAgentRuns } from '../../master/agent-runs.js';
import type { Master } from '../../master/master.js';
import { idParam, limit, parse } from '../validate.js';

const Query = z.object({ limit: limit(50, 1000) });

/** Agent runs: DAGs submitted under one agent_run_id, grouped, with their timeline. */
export function registerAgentRunRoutes(app: FastifyInstance, master: Master): void {
  app.get('/api/v1/agent-runs', (request) => ({ agentRuns: listAgentRuns(master, parse(Query, request.query, 'query').limit) }));
  app.get('/api/v1/agent-runs/:id', (request) => agentRun(master, parse(idParam, request.params, 'path').id));
}
