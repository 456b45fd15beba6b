import { createServer, type Server, type Socket } from 'node:net';
import { closeServer, listenOn } from '../../common/listen.js';
import { notLeaderError } from '../../common/errors.js';
import { quietWireLog, type WireLog } from '../../common/wire-log.js';
import { DEFAULT_BODY_LIMITS, PRE_AUTH_MAX_FRAME, type BodyLimits } from '../../protocol/body-limits.js';
import { encodeLegacyFrame, LEGACY_VERSION, LegacyFrameReader, LegacyOp } from '../../protocol/legacy-frame.js';
import { isKnownOpcode } from '../../protocol/opcodes.js';
import { Peer } from '../../protocol/peer.js';
import { tcpTransport } from '../../protocol/transport.js';
import { tlsServer, type ServerTlsMaterial } from '../../security/tls.js';
import type { LeaderSource } from './leader-view.js';

export interface StandbyTcpOptions {
  readonly leader: LeaderSource;
  /** The master's --max-frame: a protocol v1 request up to this size is read whole before the answer. */
  readonly maxFrameSize: number;
  /** A connection is closed this long after it opened: a standby serves nobody, so nobody stays. */
  readonly authTimeoutMs: number;
  readonly bodyLimits?: BodyLimits;
  /** The master's TLS material, when its port speaks TLS (protocol v1 is then not offered, as on the leader). */
  readonly tls?: ServerTlsMaterial | null;
  readonly log?: WireLog;
}

/**
 * A standby's TITAN_PROTO port: every request, AUTH included, is answered E_NOT_LEADER naming the
 * leader (the error body's `leader` field); nothing is done. Frames are read with the real
 * listener's codec and its pre-AUTH size limit, since nobody authenticates here. A protocol v1
 * client gets v1's ERROR reply, whose text names the leader.
 */
export class StandbyTcp {
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;

  constructor(private readonly options: StandbyTcpOptions) {}

  /** Resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    const tls = this.options.tls ?? null;
    const server = tls === null ? createServer((socket) => this.accept(socket, true)) : tlsServer(tls, (socket) => this.accept(socket, false));
    this.server = server;
    return listenOn(server, host, port);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await closeServer(this.server);
  }

  private accept(socket: Socket, sniff: boolean): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined); // 'close' follows; without a listener a reset would crash the process
    const limit = setTimeout(() => socket.destroy(), this.options.authTimeoutMs);
    limit.unref();
    socket.once('close', () => {
      clearTimeout(limit);
      this.sockets.delete(socket);
    });
    if (!sniff) {
      this.native(socket);
      return;
    }
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      if (first[0] === LEGACY_VERSION) this.legacy(socket);
      else this.native(socket);
      socket.resume();
    });
  }

  private native(socket: Socket): void {
    const peer = new Peer(tcpTransport(socket), {
      maxFrameSize: this.options.maxFrameSize,
      isKnownOpcode,
      logger: this.options.log ?? quietWireLog,
      bodyLimits: this.options.bodyLimits ?? DEFAULT_BODY_LIMITS,
    });
    peer.limitIncomingFrames(PRE_AUTH_MAX_FRAME, `this master is a standby: it reads only frames of at most ${PRE_AUTH_MAX_FRAME} bytes`);
    peer.onRequest((_msg, reply) => {
      const { tcp, epoch } = this.options.leader();
      const refusal = notLeaderError(tcp, epoch);
      reply.error(refusal.code, refusal.message, tcp);
    });
  }

  /** v1: one request, one reply per connection; read the request whole so the reply does not reset it. */
  private legacy(socket: Socket): void {
    const reader = new LegacyFrameReader(this.options.maxFrameSize);
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      try {
        if (reader.push(chunk) === undefined) return;
      } catch {
        // A malformed request gets the same answer: there is nothing here to serve anyway.
      }
      answered = true;
      const { tcp, epoch } = this.options.leader();
      socket.end(encodeLegacyFrame(LegacyOp.ERROR, `${notLeaderError(tcp, epoch).message}; point the client at the leader`));
    });
  }
}
