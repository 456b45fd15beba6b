import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { TitanError } from '../common/errors.js';
import type { Master } from '../master/master.js';
import { httpStatusOf } from './status-codes.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerInferenceRoutes } from './routes/inference.js';
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

/**
 * What answers without a token: the probes, the inference token-signing public key (public by
 * nature; agents and clients verify with it), and the dashboard's static files (the page asks
 * for the token and sends it with every API call). The rest of the API and /metrics need it.
 */
const PUBLIC_API = new Set(['/healthz', '/readyz', '/api/v1/health', '/api/v1/public-key']);

function isPublic(path: string): boolean {
  if (PUBLIC_API.has(path)) return true;
  return !path.startsWith('/api/') && path !== '/metrics';
}

export interface HttpListen {
  readonly host: string;
  readonly port: number;
}

/**
 * The master's HTTP face (REST under /api/v1, probes, later the dashboard and /metrics), on its
 * own port beside TITAN_PROTO. Every route but the probes needs the same token as the TCP
 * protocol, as `Authorization: Bearer <token>`.
 */
export class HttpApi {
  readonly app: FastifyInstance;
  readonly metrics: MasterMetrics;
  readonly throughput: Throughput;
  /** Every route registered, for the test that keeps docs/openapi.yaml in step. */
  readonly routes: { method: string; url: string }[] = [];
  #closed = false;

  constructor(readonly master: Master) {
    this.app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024, forceCloseConnections: true });
    this.app.addHook('onRequest', (request, reply, done) => {
      if (isPublic(request.url.split('?')[0] ?? '') || this.#authorized(request)) return done();
      void reply.code(401).header('www-authenticate', 'Bearer').send({ code: 'E_UNAUTHENTICATED', error: 'missing or wrong token: send "Authorization: Bearer <token>" with the cluster token (titan up prints it)' });
    });
    // One structured line per request at debug level (TITAN_LOG_LEVEL=debug), like every other part's logs.
    this.app.addHook('onResponse', (request, reply, done) => {
      master.log.debug({ method: request.method, url: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'http request');
      done();
    });
    this.app.setErrorHandler((err: FastifyError | TitanError, request: FastifyRequest, reply: FastifyReply) => {
      if (err instanceof TitanError) return reply.code(httpStatusOf(err.code)).send({ code: err.code, error: err.message });
      if (err.validation !== undefined || (err.statusCode !== undefined && err.statusCode < 500)) {
        return reply.code(err.statusCode ?? 400).send({ code: 'E_INVALID_REQUEST', error: err.message });
      }
      this.master.log.error({ err, url: request.url }, 'http route failed');
      return reply.code(500).send({ code: 'E_INTERNAL', error: 'internal error; see the master log' });
    });
    this.app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) if (method !== 'HEAD') this.routes.push({ method, url: route.url });
    });
    this.metrics = new MasterMetrics(master);
    this.throughput = new Throughput(master.feed);
    registerHealthRoutes(this.app, master);
    registerInferenceRoutes(this.app, master);
    registerJobRoutes(this.app, master);
    registerLogRoutes(this.app, master);
    registerDagRoutes(this.app, master);
    registerResourceRoutes(this.app, master);
    registerEventRoutes(this.app, master);
    registerAgentRunRoutes(this.app, master);
    registerMetricsRoutes(this.app, this.metrics, this.throughput);
    registerDashboardRoutes(this.app);
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

  #authorized(request: FastifyRequest): boolean {
    const header = request.headers.authorization;
    const given = header?.startsWith('Bearer ') === true ? header.slice('Bearer '.length).trim() : undefined;
    if (given === undefined) return false;
    const expected = Buffer.from(this.master.token);
    const actual = Buffer.from(given);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
