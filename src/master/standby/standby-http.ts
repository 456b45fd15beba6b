import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenOn } from '../../common/listen.js';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { ErrorCode, notLeaderError } from '../../common/errors.js';
import type { ServerTlsMaterial } from '../../security/tls.js';
import type { LeaderSource } from './leader-view.js';

/**
 * A standby's HTTP port: `GET /healthz` says it is a standby and who leads; every other request is
 * redirected (307, so the method and body are kept) to the same path on the leader's HTTP
 * address, or answered 503 with where the leader is (or that none is known) when it cannot be.
 * With the master's TLS material it speaks HTTPS, as the master's HTTP port does, and a leader
 * address given as host:port is then redirected to as https.
 */
export class StandbyHttp {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly leader: LeaderSource,
    private readonly tls: ServerTlsMaterial | null = null,
  ) {}

  async listen(host: string, port: number): Promise<number> {
    const answer = (req: IncomingMessage, res: ServerResponse): void => this.answer(req, res);
    const server = this.tls === null ? createServer(answer) : createHttpsServer({ ...this.tls, minVersion: 'TLSv1.2' }, answer);
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    return listenOn(server, host, port);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await closeServer(this.server);
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    req.resume(); // the body is the leader's to read, after the redirect
    const { tcp, http, epoch } = this.leader();
    const url = req.url ?? '/';
    if (req.method === 'GET' && url.split('?')[0] === '/healthz') {
      send(res, 200, { role: 'standby', leader: { tcp, http }, epoch });
      return;
    }
    if (http !== null) {
      const base = /^https?:\/\//.test(http) ? http.replace(/\/+$/, '') : `${this.tls === null ? 'http' : 'https'}://${http}`;
      res.writeHead(307, { location: `${base}${url}`, 'content-length': '0' }).end();
      return;
    }
    const where = `${notLeaderError(tcp, epoch).message}${tcp === null ? '' : ' (its TITAN_PROTO address; its HTTP address is not known)'}`;
    send(res, 503, { code: ErrorCode.NOT_LEADER, error: where, role: 'standby', leader: { tcp, http }, epoch });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
