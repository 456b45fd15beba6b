import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TitanError, ErrorCode } from '../../common/errors.js';
import type { Master } from '../../master/master.js';
import { whoami } from '../../master/security-requests.js';

const AuditQuery = z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(50) });

/** Who am I (role, namespace, what I may do: the dashboard hides the rest) and the audit ledger (admin). */
export function registerSecurityRoutes(app: FastifyInstance, master: Master): void {
  app.get('/api/v1/whoami', (request) => {
    if (request.identity === null) throw new TitanError(ErrorCode.UNAUTHENTICATED, 'no identity on this request');
    return whoami(request.identity);
  });
  app.get('/api/v1/audit', (request) => {
    const query = AuditQuery.safeParse(request.query);
    if (!query.success) throw new TitanError(ErrorCode.INVALID_REQUEST, 'limit must be an integer from 1 to 10000');
    return { records: master.security.audit.recent(query.data.limit) };
  });
  app.get('/api/v1/audit/verify', () => master.security.audit.verify());
}
