import type { FastifyInstance } from 'fastify';
import type { MasterMetrics } from '../metrics.js';
import type { Throughput } from '../throughput.js';

/** Prometheus scrape target (Bearer token, as every non-probe route) and the overview's chart data. */
export function registerMetricsRoutes(app: FastifyInstance, metrics: MasterMetrics, throughput: Throughput): void {
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/api/v1/throughput', () => ({ minutes: throughput.lastHour(Date.now()) }));
}
