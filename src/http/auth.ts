import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { asTitanError, TitanError, ErrorCode } from '../common/errors.js';
import type { HttpApiParts } from './parts.js';
import type { Identity } from '../security/policy.js';
import { routePermission, routeResource } from '../security/http-permissions.js';
import { RateLimitedError } from '../security/security.js';
import { createdIds } from '../security/audited-reply.js';
import { httpStatusOf } from './status-codes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request (null on public routes): routes filter and the dashboard hides by it. */
    identity: Identity | null;
    /** Set once the ledger has this request's `received` row: its outcome row is owed after the answer. */
    audit: { readonly action: string; readonly touched: readonly string[]; created: readonly string[] } | null;
  }
  interface FastifyContextConfig {
    /** What the route needs; see src/security/http-permissions.ts. Undeclared routes need admin. */
    permission?: unknown;
  }
}

function isApiPath(url: string): boolean {
  return url.startsWith('/api/') || url === '/metrics' || url.startsWith('/metrics?');
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') === true ? header.slice('Bearer '.length).trim() : undefined;
}

function refuse(reply: FastifyReply, err: TitanError): void {
  if (err instanceof RateLimitedError) void reply.header('retry-after', String(Math.ceil(err.retryAfterMs / 1000)));
  if (err.code === ErrorCode.UNAUTHENTICATED) void reply.header('www-authenticate', 'Bearer');
  void reply.code(httpStatusOf(err.code)).send({ code: err.code, error: err.message });
}

/**
 * The one place HTTP is authorized: authenticate the Bearer token into an identity, find the
 * route's permission, ask the same policy the TCP Session asks, count the token's rate, and
 * for everything that is not a read write a ledger row before the route runs and one with the
 * outcome after the answer.
 */
export function registerAuth(app: FastifyInstance, api: HttpApiParts): void {
  app.decorateRequest('identity', null);
  app.decorateRequest('audit', null);
  app.addHook('onRequest', (request, reply, done) => {
    // Outside the API nothing is served but the dashboard's files: an unmatched path there is a 404, not a 401.
    if (request.routeOptions.url === undefined && !isApiPath(request.url)) return done();
    const permission = routePermission(request.method, request.routeOptions.url, request.routeOptions.config.permission);
    if (permission === 'public') return done();
    const security = api.security;
    const secret = bearer(request);
    const identity = secret === undefined ? undefined : security.identify(secret);
    if (identity === undefined) {
      if (secret !== undefined) {
        const rate = security.refuseUnauthenticated(`${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`, request.ip);
        if (!rate.allowed)
          return refuse(
            reply,
            new RateLimitedError(
              rate.retryAfterMs,
              `too many failed authentications from ${request.ip}: retry after ${(rate.retryAfterMs / 1000).toFixed(1)} s (retryAfterMs=${rate.retryAfterMs})`,
            ),
          );
      }
      const refusal = security.refusal(secret);
      refuse(reply, new TitanError(ErrorCode.UNAUTHENTICATED, secret === undefined ? refusal : `${refusal} (sent as "Authorization: Bearer <token>")`));
      return;
    }
    request.identity = identity;
    try {
      const action = `${request.method} ${request.routeOptions.url ?? request.url}`;
      const resource = routeResource(permission, request.params);
      security.admit(identity, { action: permission.action, resource }, action, request.ip);
      if (permission.action !== 'read') {
        const touched = resource.kind === 'ids' ? resource.ids : [];
        security.receive(identity, action, touched.join(','), request.ip);
        request.audit = { action, touched, created: [] };
      }
    } catch (err) {
      if (err instanceof TitanError) return refuse(reply, err);
      throw err;
    }
    // On PostgreSQL the `received` row commits asynchronously: the request runs once it has.
    const received = security.settled();
    if (received === undefined) return done();
    received.then(
      () => done(),
      (err: unknown) => refuse(reply, asTitanError(err)),
    );
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.audit !== null && reply.statusCode < 400 && typeof payload === 'string' && payload.length < 1_000_000) {
      try {
        request.audit.created = createdIds(JSON.parse(payload));
      } catch {
        // Not JSON: nothing to name.
      }
    }
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const audit = request.audit;
    if (request.identity !== null && audit !== null) {
      const target = [...audit.touched, ...audit.created.filter((id) => !audit.touched.includes(id))].join(',');
      api.security.record(request.identity, audit.action, target, request.ip, reply.statusCode < 400 ? 'ok' : `error HTTP ${reply.statusCode}`);
    }
    done();
  });
}
