import { CLUSTER, type Action, type Resource } from './policy.js';

/**
 * What an HTTP route needs. `public` routes answer without a token (probes, the dashboard's
 * static files). `scope` says what the route touches: `params` (the ids in its URL parameters
 * id, jobId, dagId or key), `cluster`, or `none` (content-addressed or id chosen by the master,
 * which then prefixes it with the caller's namespace).
 */
export type RoutePermission = 'public' | { readonly action: Action; readonly scope?: 'params' | 'cluster' | 'none' };

const read = { action: 'read', scope: 'params' } as const;
const readAll = { action: 'read', scope: 'cluster' } as const;
const act = (action: Action, scope: 'params' | 'cluster' | 'none' = 'params'): RoutePermission => ({ action, scope });

/**
 * Method + route pattern (as fastify names it) → permission. A route may instead declare
 * `config: { permission }` when it registers; a route in neither place needs `admin`, so a new
 * route is safe until someone decides what it needs.
 */
export const ROUTE_PERMISSIONS: ReadonlyMap<string, RoutePermission> = new Map<string, RoutePermission>([
  ['GET /healthz', 'public'],
  ['GET /readyz', 'public'],
  ['GET /api/v1/whoami', act('read', 'none')],
  ['GET /api/v1/audit', act('admin', 'cluster')],
  ['GET /api/v1/audit/verify', act('admin', 'cluster')],
  ['GET /api/v1/tokens', act('admin', 'cluster')],
  ['POST /api/v1/tokens', act('admin', 'cluster')],
  ['DELETE /api/v1/tokens/:id', act('admin', 'cluster')],
  ['GET /metrics', readAll],
  ['GET /api/v1/stats', readAll],
  ['GET /api/v1/cluster', readAll],
  ['GET /api/v1/workers', readAll],
  ['GET /api/v1/workers/:id', readAll],
  ['POST /api/v1/workers/:id/shutdown', act('admin', 'cluster')],
  ['GET /api/v1/jobs', readAll],
  ['GET /api/v1/jobs/:id', read],
  ['GET /api/v1/jobs/:id/logs', read],
  ['GET /api/v1/jobs/:id/history', read],
  ['GET /api/v1/jobs/:id/events', read],
  ['POST /api/v1/jobs', act('submit', 'none')],
  ['POST /api/v1/jobs/:id/cancel', act('cancel')],
  ['DELETE /api/v1/jobs/:id', act('cancel')],
  ['POST /api/v1/jobs/:id/retry', act('submit')],
  ['POST /api/v1/jobs/:id/approve', act('approve')],
  ['POST /api/v1/jobs/:id/reject', act('approve')],
  // :id is a job id or hitl:<gate id> (an original-SDK gate): a namespaced token sees neither outside its namespace.
  ['GET /api/v1/approvals', readAll],
  ['POST /api/v1/approvals/:id/approve', act('approve')],
  ['POST /api/v1/approvals/:id/reject', act('approve')],
  ['GET /api/v1/dlq', readAll],
  ['GET /api/v1/dags', readAll],
  ['GET /api/v1/dags/:id', read],
  ['POST /api/v1/dags', act('submit', 'none')],
  ['POST /api/v1/dags/:id/jobs', act('submit')],
  // Content-addressed bytes (scripts, folder archives), as ARTIFACT_PUT / ARTIFACT_GET over TCP.
  ['POST /api/v1/artifacts', act('submit', 'none')],
  ['GET /api/v1/artifacts/:hash', act('read', 'none')],
  ['POST /api/v1/dags/:id/cancel', act('cancel')],
  ['DELETE /api/v1/dags/:id', act('cancel')],
  ['GET /api/v1/services', readAll],
  ['POST /api/v1/services', act('deploy', 'none')],
  ['POST /api/v1/services/:id/stop', act('deploy')],
  ['POST /api/v1/services/:id/restart', act('deploy')],
  ['GET /api/v1/kv/:key', read],
  ['PUT /api/v1/kv/:key', act('write')],
  ['DELETE /api/v1/kv/:key', act('write')],
  ['GET /api/v1/schedules', readAll],
  ['POST /api/v1/schedules', act('submit', 'cluster')],
  ['DELETE /api/v1/schedules/:id', act('submit', 'cluster')],
  ['POST /api/v1/schedules/:id/pause', act('submit', 'cluster')],
  ['POST /api/v1/schedules/:id/resume', act('submit', 'cluster')],
  // The dashboard's built files: the page itself asks for a token and sends it to the API.
  ['GET /', 'public'],
  ['GET /assets/*', 'public'],
  ['GET /favicon.svg', 'public'],
  ['GET /favicon.ico', 'public'],
  ['GET /api/v1/throughput', readAll],
  ['GET /api/v1/events', readAll],
  ['GET /api/v1/agent-runs', readAll],
  ['GET /api/v1/agent-runs/:id', readAll],
  ['GET /api/v1/jobs/:id/logs/stream', read],
  ['GET /api/v1/jobs/:id/logs/download', read],
  ['POST /api/v1/jobs/:id/stop', act('deploy')],
  ['POST /api/v1/jobs/:id/restart', act('deploy')],
  ['POST /api/v1/dlq/:id/retry', act('submit')],
  ['GET /api/v1/kv/:key/members', read],
  // Inference (docs/INFERENCE.md): health and the public key are public by nature.
  ['GET /api/v1/health', 'public'],
  ['GET /api/v1/public-key', 'public'],
  ['GET /api/v1/status', readAll],
  ['GET /api/v1/inference/metrics', readAll],
  ['POST /api/v1/inference/request', act('submit', 'none')],
]);

const ID_PARAMS = ['id', 'jobId', 'dagId', 'key'];

/** The permission of a matched route: its declared config first, then the table, else admin. */
export function routePermission(method: string, routeUrl: string | undefined, declared: unknown): RoutePermission {
  if (declared === 'public') return 'public';
  if (typeof declared === 'object' && declared !== null && typeof (declared as { action?: unknown }).action === 'string') return declared as RoutePermission;
  if (routeUrl === undefined) return { action: 'admin', scope: 'cluster' };
  return ROUTE_PERMISSIONS.get(`${method === 'HEAD' ? 'GET' : method} ${routeUrl}`) ?? { action: 'admin', scope: 'cluster' };
}

export function routeResource(permission: Exclude<RoutePermission, 'public'>, params: unknown): Resource {
  const scope = permission.scope ?? 'params';
  if (scope === 'cluster') return CLUSTER;
  if (scope === 'none') return { kind: 'ids', ids: [] };
  const values = typeof params === 'object' && params !== null ? (params as Record<string, unknown>) : {};
  const ids = ID_PARAMS.map((p) => values[p]).filter((v): v is string => typeof v === 'string');
  return ids.length > 0 ? { kind: 'ids', ids } : CLUSTER;
}
