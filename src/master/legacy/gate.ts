import type { Socket } from 'node:net';
import { isLoopbackHost, LEGACY_FLAG } from '../../common/hosts.js';
import { ErrorCode, TitanError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { MasterOptions } from '../options.js';
import type { Security } from '../../security/security.js';
import { encodeLegacyFrame, LEGACY_VERSION, LegacyFrameReader, LegacyOp } from '../../protocol/legacy-frame.js';
import { DEFAULT_LEGACY_ROLE, legacyActionName, legacyIdentity } from '../../security/legacy-permissions.js';
import type { Identity } from '../../security/policy.js';
import type { LegacyRequest } from '../../protocol/legacy-frame.js';
import { fail, type LegacyReply } from './handlers.js';

/** A v1 request must arrive whole within this; uploads of several MiB on a slow link fit. */
const READ_TIMEOUT_MS = 60_000;
/** After the reply, how long the client gets to close its side before the socket is destroyed. */
const CLOSE_GRACE_MS = 2_000;

/** v1 clients carry no token, so they may only be let in where nobody else can connect. */
export function checkLegacyListen(host: string, allowLegacy: boolean): void {
  if (allowLegacy && !isLoopbackHost(host)) {
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `${LEGACY_FLAG} lets clients in without a token, so it is only allowed when the master listens on a loopback address; ` +
        `listen on 127.0.0.1 (not ${host}) or drop the flag`,
    );
  }
}

/** `host:port` of the client, as native sessions name their source in the audit ledger. */
function sourceOf(socket: Socket): string {
  const host = socket.remoteAddress ?? 'unknown';
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? '?'}`;
}

/**
 * Routes each new connection by its first byte: 1 is the original Titan's text protocol, served
 * here one request per connection; anything else goes to the native TITAN_PROTO path, which
 * answers versions it does not speak with a clear error.
 */
/** What the gate needs: its settings, the refusal ledger, and who answers a request it lets in (legacy/admit.ts). */
export interface LegacyGateParts {
  readonly options: Pick<MasterOptions, 'host' | 'allowLegacyUnauthenticated' | 'legacyRole' | 'authTimeoutMs' | 'maxFrameSize'>;
  readonly security: Pick<Security, 'refuseUnauthenticated'>;
  readonly log: Logger;
  serve(identity: Identity, request: LegacyRequest, source: string): Promise<LegacyReply>;
}

export class LegacyGate {
  /** Sockets still being sniffed, and v1 connections; native ones leave the set when handed over. */
  private readonly sockets = new Set<Socket>();
  /** Who every v1 client is: `legacy-v1` with the role of --legacy-role. */
  private readonly identity: Identity;

  constructor(private readonly parts: LegacyGateParts) {
    checkLegacyListen(parts.options.host, parts.options.allowLegacyUnauthenticated === true);
    this.identity = legacyIdentity(parts.options.legacyRole ?? DEFAULT_LEGACY_ROLE);
  }

  route(socket: Socket, native: (socket: Socket) => void): void {
    this.sockets.add(socket);
    // Without an 'error' listener a reset would crash the process; 'close' always follows it.
    const ignore = (): void => undefined;
    socket.on('error', ignore);
    const idle = setTimeout(() => socket.destroy(), this.parts.options.authTimeoutMs);
    idle.unref();
    socket.once('close', () => {
      clearTimeout(idle);
      this.sockets.delete(socket);
    });
    socket.once('data', (first: Buffer) => {
      clearTimeout(idle);
      // Put the bytes back, paused, so whichever reader comes next sees the stream from its start.
      socket.pause();
      socket.unshift(first);
      if (first[0] === LEGACY_VERSION) {
        this.serve(socket);
      } else {
        this.sockets.delete(socket);
        socket.off('error', ignore);
        native(socket);
      }
      socket.resume();
    });
  }

  close(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private serve(socket: Socket): void {
    const reader = new LegacyFrameReader(this.parts.options.maxFrameSize);
    let answered = false;
    const deadline = setTimeout(() => socket.destroy(), READ_TIMEOUT_MS);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
    socket.on('data', (chunk: Buffer) => {
      // Later bytes are read and dropped, so unread input cannot reset the connection under the reply.
      if (answered) return;
      let reply: LegacyReply | Promise<LegacyReply> | undefined;
      if (this.parts.options.allowLegacyUnauthenticated !== true) {
        this.parts.log.warn({ from: socket.remoteAddress }, `refused a protocol v1 client: v1 is off without ${LEGACY_FLAG}`);
        this.recordRefusal(socket, chunk, `protocol v1 is off without ${LEGACY_FLAG}`);
        reply = fail(
          `this master does not accept protocol version 1 (the original Titan's): v1 clients carry no token. ` +
            `Start the master with ${LEGACY_FLAG} (or TITAN_ALLOW_LEGACY_UNAUTHENTICATED=1) listening on a loopback address to accept them, ` +
            'or use a Titan SDK with the cluster token',
        );
      } else if (!isLoopbackHost(socket.remoteAddress ?? '')) {
        this.recordRefusal(socket, chunk, 'protocol v1 is only served to loopback clients');
        reply = fail(`protocol v1 is only served to clients on this machine, not ${socket.remoteAddress ?? 'an unknown address'}`);
      } else {
        try {
          const request = reader.push(chunk);
          if (request === undefined) return;
          reply = this.parts.serve(this.identity, request, sourceOf(socket));
        } catch (err) {
          reply = fail(err instanceof TitanError ? err.message : String(err));
        }
      }
      answered = true;
      clearTimeout(deadline);
      void Promise.resolve(reply)
        .catch((err: unknown) => fail(err instanceof TitanError ? err.message : String(err)))
        .then((answer) => {
          socket.end(encodeLegacyFrame(answer.ok ? LegacyOp.ACK : LegacyOp.ERROR, answer.text));
          setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
        });
    });
  }

  /** A v1 client not let in at all is, like a bad token, an `anonymous` refusal in the ledger (the opcode from the header's second byte). */
  private recordRefusal(socket: Socket, first: Buffer, reason: string): void {
    const opcode = first[1];
    // Aggregated per source and window, so a flood of refused v1 connections costs two rows.
    this.parts.security.refuseUnauthenticated(opcode === undefined ? 'V1' : legacyActionName(opcode), sourceOf(socket), reason);
  }
}
