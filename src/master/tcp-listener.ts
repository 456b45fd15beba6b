import { createServer, type Server, type Socket } from 'node:net';
import { closeServer, listenOn } from '../common/listen.js';
import type { TLSSocket } from 'node:tls';
import { isKnownOpcode } from '../protocol/opcodes.js';
import { Peer } from '../protocol/peer.js';
import { tcpTransport } from '../protocol/transport.js';
import { PRE_AUTH_MAX_FRAME } from '../protocol/body-limits.js';
import { peerSubject, tlsServer, type ServerTlsMaterial } from '../security/tls.js';
import type { Master } from './master.js';
import { Session, type SessionHost } from './session.js';

/** Why a connection's first frame was refused for its size: nothing bigger is read before AUTH. */
const PRE_AUTH_HINT = `until AUTH succeeds a connection may send only frames of at most ${PRE_AUTH_MAX_FRAME} bytes; send AUTH (token, role, name) first`;

/** Hands a plain connection on: to the v1 gate when its first byte says so, else to `native`. */
export type ConnectionRouter = (socket: Socket, native: (socket: Socket) => void) => void;

/**
 * The TITAN_PROTO port: one `Session` per connection. Plain TCP goes through the router (the
 * legacy v1 gate sniffs the first byte); over TLS v1 is not offered, so there is nothing to sniff.
 */
export class TcpListener {
  private readonly sessions = new Set<Session>();
  private server: Server | null = null;

  constructor(
    private readonly master: SessionHost & Pick<Master, 'bodyLimits'>,
    private readonly route: ConnectionRouter,
    private readonly tls: ServerTlsMaterial | null,
  ) {}

  /** Resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    const tls = this.tls;
    const log = this.master.log;
    const server =
      tls === null
        ? createServer((socket) => this.route(socket, (native) => this.acceptNative(native)))
        : tlsServer(tls, (socket) => this.acceptSecure(socket));
    if (tls !== null) server.on('tlsClientError', (err, socket) => log.warn({ from: socket.remoteAddress, err: err.message }, 'refused a TLS handshake'));
    this.server = server;
    return listenOn(server, host, port);
  }

  /** A revoked token's open connections end now, not at their next request. */
  closeSessionsOf(tokenId: string): void {
    for (const session of this.sessions) if (session.identity?.tokenId === tokenId) session.close();
  }

  /** Ends every connection, then stops listening. */
  async close(): Promise<void> {
    for (const session of this.sessions) session.close();
    await closeServer(this.server);
  }

  private acceptSecure(socket: TLSSocket): void {
    this.acceptNative(socket, peerSubject(socket));
  }

  private acceptNative(socket: Socket, certificate?: { commonName: string | null; unit: string | null }): void {
    const { options, log, bodyLimits } = this.master;
    const peer = new Peer(tcpTransport(socket), { maxFrameSize: options.maxFrameSize, isKnownOpcode, logger: log, bodyLimits });
    peer.limitIncomingFrames(PRE_AUTH_MAX_FRAME, PRE_AUTH_HINT);
    const session = new Session(this.master, peer, certificate);
    this.sessions.add(session);
    peer.onClose(() => this.sessions.delete(session));
  }
}
