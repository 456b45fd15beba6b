import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HttpApiParts } from '../parts.js';
import { Opcode } from '../../protocol/opcodes.js';
import { callMaster } from '../master-call.js';
import { parse } from '../validate.js';
import { httpContext } from './jobs.js';

/** A job id, or `hitl:<gate id>` for a gate of the original SDK waiting in the KV store. */
const RefParam = z.object({ id: z.string().min(1).max(500) });
const DecisionBody = z.object({ by: z.string().max(200).optional(), reason: z.string().max(2000).optional() }).default({});
const KV_GATE = 'hitl:';

/** What waits for a person (Titan approvals and original-SDK KV gates, with their age) and the decisions. */
export function registerApprovalRoutes(app: FastifyInstance, api: HttpApiParts): void {
  app.get('/api/v1/approvals', (request) => callMaster(api.requests, httpContext(request), Opcode.APPROVAL_LIST, {}));

  for (const [verb, opcode] of [
    ['approve', Opcode.JOB_APPROVE],
    ['reject', Opcode.JOB_REJECT],
  ] as const) {
    app.post(`/api/v1/approvals/:id/${verb}`, (request) => {
      const { id } = parse(RefParam, request.params, 'path');
      const body = parse(DecisionBody, request.body, 'body');
      const target = id.startsWith(KV_GATE) ? { gateId: id.slice(KV_GATE.length) } : { jobId: id };
      return callMaster(api.requests, httpContext(request), opcode, { ...target, ...body });
    });
  }
}
