import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { TitanError } from '../common/errors.js';
import type { Master } from '../master/master.js';
import { httpStatusOf } from './status-codes.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerSecurityRoutes } from './routes/security.js';
import { registerAuth } from './auth.js';

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
  #closed = false;

  constructor(readonly master: Master) {
    const tls = master.tls;
    // Same certificates as the TCP port; under mTLS a client without one fails the handshake here too.
    this.app = (
      tls === null
        ? Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 })
        : Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024, https: { ...tls, minVersion: 'TLSv1.2' } })
    ) as FastifyInstance;
    registerAuth(this.app, master);
    this.app.setErrorHandler((err: FastifyError | TitanError, request: FastifyRequest, reply: FastifyReply) => {
      if (err instanceof TitanError) return reply.code(httpStatusOf(err.code)).send({ code: err.code, error: err.message });
      if (err.validation !== undefined || (err.statusCode !== undefined && err.statusCode < 500)) {
        return reply.code(err.statusCode ?? 400).send({ code: 'E_INVALID_REQUEST', error: err.message });
      }
      this.master.log.error({ err, url: request.url }, 'http route failed');
      return reply.code(500).send({ code: 'E_INTERNAL', error: 'internal error; see the master log' });
    });
    registerHealthRoutes(this.app, master);
    registerSecurityRoutes(this.app, master);
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
}
