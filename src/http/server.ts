import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { TitanError } from '../common/errors.js';
import type { Master } from '../master/master.js';
import { httpStatusOf } from './status-codes.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerInferenceRoutes } from './routes/inference.js';

/**
 * Routes that answer without a token: probes for load balancers and orchestrators, and the
 * inference token-signing public key (public by nature; agents and clients verify with it).
 */
const PUBLIC_PATHS = new Set(['/healthz', '/readyz', '/api/v1/health', '/api/v1/public-key']);

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
  #closed = false;

  constructor(readonly master: Master) {
    this.app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
    this.app.addHook('onRequest', (request, reply, done) => {
      if (PUBLIC_PATHS.has(request.url.split('?')[0] ?? '') || this.#authorized(request)) return done();
      void reply.code(401).header('www-authenticate', 'Bearer').send({ code: 'E_UNAUTHENTICATED', error: 'missing or wrong token: send "Authorization: Bearer <token>" with the cluster token (titan up prints it)' });
    });
    this.app.setErrorHandler((err: FastifyError | TitanError, request: FastifyRequest, reply: FastifyReply) => {
      if (err instanceof TitanError) return reply.code(httpStatusOf(err.code)).send({ code: err.code, error: err.message });
      if (err.validation !== undefined || (err.statusCode !== undefined && err.statusCode < 500)) {
        return reply.code(err.statusCode ?? 400).send({ code: 'E_INVALID_REQUEST', error: err.message });
      }
      this.master.log.error({ err, url: request.url }, 'http route failed');
      return reply.code(500).send({ code: 'E_INTERNAL', error: 'internal error; see the master log' });
    });
    registerHealthRoutes(this.app, master);
    registerInferenceRoutes(this.app, master);
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
