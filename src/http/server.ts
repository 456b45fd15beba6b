import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { TitanError } from '../common/errors.js';
import type { HttpApiParts } from './parts.js';
import { httpStatusOf } from './status-codes.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerInferenceRoutes } from './routes/inference.js';
import { registerApprovalRoutes } from './routes/approvals.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerLogRoutes } from './routes/logs.js';
import { registerDagRoutes } from './routes/dags.js';
import { registerResourceRoutes } from './routes/resources.js';
import { registerEventRoutes } from './routes/events.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { registerDashboardRoutes } from './routes/dashboard.js';
import { registerAgentRunRoutes } from './routes/agent-runs.js';
import { MasterMetrics } from './metrics.js';
import { Throughput } from './throughput.js';

import { registerSecurityRoutes } from './routes/security.js';
import { registerArtifactRoutes } from './routes/artifacts.js';
import { registerAuth } from './auth.js';
import { registerJsonParser } from './json-parser.js';

export interface HttpListen {
  readonly host: string;
  readonly port: number;
}

/**
 * The master's HTTP face (REST under /api/v1, probes, later the dashboard and /metrics), on its
 * own port beside TITAN_PROTO. Every route but the probes needs a token (API or cluster) as
 * `Authorization: Bearer <token>`, and the role its permission names (auth.ts).
 */
export class HttpApi {
  readonly app: FastifyInstance;
  readonly metrics: MasterMetrics;
  readonly throughput: Throughput;
  /** Every route registered, for the test that keeps docs/openapi.yaml in step. */
  readonly routes: { method: string; url: string }[] = [];
  #closed = false;

  constructor(readonly api: HttpApiParts) {
    const tls = api.tls;
    // Same certificates as the TCP port; under mTLS a client without one fails the handshake here too.
    const base = { logger: false, bodyLimit: 16 * 1024 * 1024, forceCloseConnections: true } as const;
    this.app = (tls === null ? Fastify(base) : Fastify({ ...base, https: { ...tls, minVersion: 'TLSv1.2' } })) as FastifyInstance;
    registerAuth(this.app, api);
    registerJsonParser(this.app, api.bodyLimits);
    // One structured line per request at debug level (TITAN_LOG_LEVEL=debug), like every other part's logs.
    this.app.addHook('onResponse', (request, reply, done) => {
      api.log.debug({ method: request.method, url: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'http request');
      done();
    });
    this.app.setErrorHandler((err: FastifyError | TitanError, request: FastifyRequest, reply: FastifyReply) => {
      if (err instanceof TitanError) return reply.code(httpStatusOf(err.code)).send({ code: err.code, error: err.message });
      if (err.validation !== undefined || (err.statusCode !== undefined && err.statusCode < 500)) {
        return reply.code(err.statusCode ?? 400).send({ code: 'E_INVALID_REQUEST', error: err.message });
      }
      this.api.log.error({ err, url: request.url }, 'http route failed');
      return reply.code(500).send({ code: 'E_INTERNAL', error: 'internal error; see the master log' });
    });
    this.app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) if (method !== 'HEAD') this.routes.push({ method, url: route.url });
    });
    this.metrics = new MasterMetrics(api);
    this.throughput = new Throughput(api.reads.feed);
    registerHealthRoutes(this.app, api);
    registerInferenceRoutes(this.app, api);
    registerJobRoutes(this.app, api);
    registerApprovalRoutes(this.app, api);
    registerLogRoutes(this.app, api);
    registerDagRoutes(this.app, api);
    registerResourceRoutes(this.app, api);
    registerEventRoutes(this.app, api);
    registerAgentRunRoutes(this.app, api);
    registerMetricsRoutes(this.app, this.metrics, this.throughput);
    registerDashboardRoutes(this.app);
    registerSecurityRoutes(this.app, api);
    registerArtifactRoutes(this.app, api);
  }

  /** Resolves with the bound port. */
  async listen(at: HttpListen): Promise<number> {
    await this.app.listen({ host: at.host, port: at.port });
    const address = this.app.server.address();
    return typeof address === 'object' && address !== null ? address.port : at.port;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.metrics.close();
    this.throughput.close();
    await this.app.close();
  }
}
