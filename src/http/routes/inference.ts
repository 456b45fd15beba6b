import type { FastifyInstance } from 'fastify';
import type { HttpApiParts } from '../parts.js';
import { healthView, publicKeyView, requestInference, statusView } from '../../inference/service.js';
import { inferencePrometheus } from '../../inference/metrics.js';

/**
 * The coordinator's REST face (docs/INFERENCE.md), the same service layer as gRPC:
 * GET /api/v1/health and GET /api/v1/public-key are public (probes, and a key meant to be
 * published); GET /api/v1/status, POST /api/v1/inference/request and GET /api/v1/inference/metrics
 * need the cluster token.
 */
export function registerInferenceRoutes(app: FastifyInstance, api: HttpApiParts): void {
  app.get('/api/v1/health', async (_request, reply) => {
    const view = healthView(api.inference, Date.now());
    return reply.code(view.ready ? 200 : 503).send(view);
  });

  app.get<{ Querystring: { include_agents?: string } }>('/api/v1/status', (request) => {
    const flag = request.query.include_agents;
    return statusView(api.inference, flag === 'true' || flag === '1', Date.now());
  });

  app.post('/api/v1/inference/request', async (request, reply) => {
    const result = await requestInference(api.inference, request.body, 'rest-client', Date.now());
    if (result.ok) return result.grant;
    if ('invalid' in result) return reply.code(400).send({ code: 'E_INVALID_REQUEST', error: result.invalid });
    // 404: nothing serves the model (the answer lists what does); 503: try again shortly.
    const status = result.refusal.code === 'E_UNKNOWN_MODEL' ? 404 : 503;
    if (status === 503) void reply.header('retry-after', '1');
    return reply.code(status).send(result.refusal);
  });

  app.get('/api/v1/public-key', () => publicKeyView(api.inference));

  // Prometheus text, for a scraper holding the token (or for a cluster-wide /metrics to include).
  app.get('/api/v1/inference/metrics', (_request, reply) => reply.type('text/plain; version=0.0.4').send(inferencePrometheus(api.inference)));
}
