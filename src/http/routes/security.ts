import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TitanError, ErrorCode } from '../../common/errors.js';
import type { HttpApiParts } from '../parts.js';
import { whoami } from '../../master/security-requests.js';
import { Opcode } from '../../protocol/opcodes.js';
import { callMaster } from '../master-call.js';
import { parse } from '../validate.js';
import { httpContext } from './jobs.js';

const AuditQuery = z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(50) });
const TokenListQuery = z.object({ all: z.enum(['true', 'false']).default('false') });
const TokenParam = z.object({ id: z.string().min(1).max(64) });

/** Who am I (role, namespace, what I may do: the dashboard hides the rest), API tokens and the audit ledger (admin). */
export function registerSecurityRoutes(app: FastifyInstance, api: HttpApiParts): void {
  app.get('/api/v1/whoami', (request) => {
    if (request.identity === null) throw new TitanError(ErrorCode.UNAUTHENTICATED, 'no identity on this request');
    return whoami(request.identity);
  });
  app.get('/api/v1/audit', async (request) => {
    const query = AuditQuery.safeParse(request.query);
    if (!query.success) throw new TitanError(ErrorCode.INVALID_REQUEST, 'limit must be an integer from 1 to 10000');
    return { records: await api.security.audit.recent(query.data.limit) };
  });
  app.get('/api/v1/audit/verify', () => api.security.audit.verify());

  // As `titan token ls|create|revoke`; the secret is in POST's answer only, never listed again.
  app.get('/api/v1/tokens', (request) =>
    callMaster(api.requests, httpContext(request), Opcode.TOKEN_LIST, { all: parse(TokenListQuery, request.query, 'query').all === 'true' }),
  );
  app.post('/api/v1/tokens', async (request, reply) =>
    reply.code(201).send(await committed(api, callMaster(api.requests, httpContext(request), Opcode.TOKEN_CREATE, request.body ?? {}))),
  );
  app.delete('/api/v1/tokens/:id', (request) =>
    committed(api, callMaster(api.requests, httpContext(request), Opcode.TOKEN_REVOKE, { token: parse(TokenParam, request.params, 'path').id })),
  );
}

/** A token change is answered once it has committed: on PostgreSQL that is after the master's reply. */
async function committed(api: HttpApiParts, answer: Promise<unknown>): Promise<unknown> {
  const body = await answer;
  await api.security.settled();
  return body;
}
