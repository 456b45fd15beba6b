import { asTitanError, TitanError, ErrorCode } from '../common/errors.js';
import { Opcode, opcodeName } from '../protocol/opcodes.js';
import { AuthRequest } from '../protocol/messages.js';
import { parseBody } from '../protocol/parse-body.js';
import type { Peer } from '../protocol/peer.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import { handleWorkerMessage, type WorkerContext, type WorkerHost } from './worker-handlers.js';
import { handleClientMessage, type ClientHost } from './client-handlers.js';
import { handleSecurityMessage, type SecurityHost } from './security-requests.js';
import { can, type Identity } from '../security/policy.js';
import { isAudited, requirementOf } from '../security/opcode-permissions.js';
import { targetOf } from '../security/security.js';
import { auditedReply } from '../security/audited-reply.js';
import { WORKER_OU } from '../security/tls.js';
import type { Master } from './master.js';
import { ClientContext } from './client-context.js';

/** What a connection serves: worker and client operations, and its own authentication. */
export type SessionHost = WorkerHost & ClientHost & SecurityHost & Pick<Master, 'detachWorker'>;

/** What TLS said about the other end, when the listener is TLS. */
export interface PeerCertificate {
  /** The verified client certificate's CN (mTLS), or null without one. */
  readonly commonName: string | null;
  /** Its OU: `titan certs` marks worker certificates with titan-worker. */
  readonly unit: string | null;
}

/**
 * One connection. The first frame must authenticate; the identity it proves (cluster token or
 * API token) then decides, request by request, what is served (docs/SECURITY.md): the opcode's
 * permission from `opcode-permissions.ts`, the pure `can`, the token's rate, and a ledger row
 * for everything that is not a read. A handler's error is answered on the wire and never escapes.
 */
export class Session {
  private role: 'none' | 'worker' | 'client' = 'none';
  private readonly worker: WorkerContext = { workerId: null };
  private readonly authTimer: NodeJS.Timeout;
  /** Who is asking on this connection, and what to undo when it closes: the same type an HTTP request gets. */
  readonly context: ClientContext;

  constructor(
    private readonly master: SessionHost,
    readonly peer: Peer,
    readonly certificate: PeerCertificate = { commonName: null, unit: null },
  ) {
    this.context = new ClientContext(peer.remoteAddress);
    this.authTimer = setTimeout(() => {
      if (this.role === 'none') this.peer.close();
    }, master.options.authTimeoutMs);
    this.authTimer.unref();
    peer.onRequest((msg, reply) => this.receive(msg, reply));
    peer.onClose(() => this.closed());
  }

  /** Who authenticated on this connection (null before AUTH). */
  get identity(): Identity | null {
    return this.context.identity;
  }

  get remoteAddress(): string {
    return this.peer.remoteAddress;
  }

  close(): void {
    this.peer.close();
  }

  /** Requests of this connection held, in arrival order, behind a ledger row still committing; null when none is. */
  private held: Promise<void> | null = null;

  private receive(msg: IncomingMessage, reply: Replier): void {
    if (this.held !== null) {
      this.hold(this.held.then(() => this.serve(msg, reply)));
      return;
    }
    const deferred = this.serve(msg, reply);
    if (deferred !== undefined) this.hold(deferred);
  }

  private hold(next: Promise<void>): void {
    this.held = next;
    void next.then(() => {
      if (this.held === next) this.held = null;
    });
  }

  /** Serves one request; returns a promise only when it runs later, once its `received` ledger row committed. */
  private serve(msg: IncomingMessage, reply: Replier): Promise<void> | undefined {
    let out = reply;
    try {
      if (this.role === 'none') this.authenticate(msg, reply);
      else if (this.role === 'worker') {
        this.checkWorkerCertificate(msg);
        handleWorkerMessage(this.master, this, this.worker, msg, reply);
      } else {
        out = this.admit(this.context.identity!, msg, reply);
        // On PostgreSQL the ledger row commits asynchronously: the change runs only once it is durable
        // (on SQLite it already is, and nothing waits).
        const ledger = out !== reply ? this.master.security.settled() : undefined;
        const audited = out;
        if (ledger !== undefined)
          return ledger.then(
            () => this.runClient(msg, audited),
            (err: unknown) => this.fail(msg, audited, err),
          );
        this.runClient(msg, out);
      }
    } catch (err) {
      this.fail(msg, out, err);
    }
    return undefined;
  }

  private runClient(msg: IncomingMessage, reply: Replier): void {
    try {
      if (!handleSecurityMessage(this.master, this.context.identity!, msg, reply)) handleClientMessage(this.master, this.context, msg, reply);
    } catch (err) {
      this.fail(msg, reply, err);
    }
  }

  private fail(msg: IncomingMessage, reply: Replier, err: unknown): void {
    const error = asTitanError(err, this.master.options.dataDir);
    if (error.code === ErrorCode.INTERNAL) this.master.log.error({ err, opcode: opcodeName(msg.opcode) }, 'request failed');
    if (msg.rid !== 0) reply.error(error.code, error.message);
    else this.master.log.warn({ code: error.code, opcode: opcodeName(msg.opcode), message: error.message }, 'bad one-way message');
  }

  /** Checks one client request against the identity; returns the replier to answer it with (audited unless a read). */
  private admit(identity: Identity, msg: IncomingMessage, reply: Replier): Replier {
    const security = this.master.security;
    const action = opcodeName(msg.opcode);
    if (!security.isCurrent(identity)) {
      // Revoked while connected: this request and the connection end here.
      queueMicrotask(() => this.peer.close());
      throw new TitanError(ErrorCode.UNAUTHENTICATED, notCurrent(identity));
    }
    const requirement = requirementOf(msg.opcode, msg.body);
    security.admit(identity, requirement, action, this.source);
    if (!isAudited(requirement)) return reply;
    const target = targetOf(requirement);
    security.receive(identity, action, target, this.source);
    return auditedReply(reply, target, (touched, result) => security.record(identity, action, touched, this.source, result));
  }

  private get source(): string {
    return this.peer.remoteAddress;
  }

  private authenticate(msg: IncomingMessage, reply: Replier): void {
    if (msg.opcode !== Opcode.AUTH) {
      reply.error(ErrorCode.UNAUTHENTICATED, `the first frame must be AUTH (opcode ${Opcode.AUTH}), got ${opcodeName(msg.opcode)}`);
      this.peer.close();
      return;
    }
    const auth = parseBody(AuthRequest, msg);
    const security = this.master.security;
    const identity = security.identify(auth.token);
    if (identity === undefined) {
      const rate = security.refuseUnauthenticated('AUTH', this.source);
      if (rate.allowed) {
        this.master.log.warn({ from: this.source }, 'refused a connection with a bad token');
        reply.error(ErrorCode.UNAUTHENTICATED, security.refusal(auth.token));
      } else {
        reply.error(
          ErrorCode.RATE_LIMITED,
          `too many failed authentications from ${this.source}: retry after ${(rate.retryAfterMs / 1000).toFixed(1)} s (retryAfterMs=${rate.retryAfterMs})`,
        );
      }
      this.peer.close();
      return;
    }
    if (auth.role === 'worker') {
      const cert = this.certificate;
      const decision =
        this.master.options.tls?.mtls === true && cert.unit !== WORKER_OU
          ? {
              allowed: false as const,
              reason: `under mTLS a worker must present a worker certificate (OU=${WORKER_OU}, made by \`titan certs add <id> --kind worker\`), not ${cert.commonName === null ? 'none' : `CN=${cert.commonName} OU=${cert.unit ?? '-'}`}`,
            }
          : can(identity, 'worker');
      if (!decision.allowed) {
        security.record(identity, 'AUTH', 'worker', this.source, `denied: ${decision.reason}`);
        reply.error(ErrorCode.FORBIDDEN, `${identity.name} may not connect as a worker: ${decision.reason}`);
        this.peer.close();
        return;
      }
    }
    clearTimeout(this.authTimer);
    this.peer.limitIncomingFrames(this.master.options.maxFrameSize);
    this.role = auth.role;
    this.context.identity = identity;
    security.record(
      identity,
      'AUTH',
      auth.role === 'worker' ? `worker${this.certificate.commonName !== null ? ` CN=${this.certificate.commonName}` : ''}` : 'client',
      this.source,
      'ok',
    );
    reply.ok({ ok: true, heartbeatIntervalMs: this.master.options.heartbeatIntervalMs });
  }

  /** Under mTLS a worker is who its certificate says: it registers with its CN as its id. */
  private checkWorkerCertificate(msg: IncomingMessage): void {
    const cn = this.certificate.commonName;
    if (msg.opcode !== Opcode.WORKER_REGISTER || this.master.options.tls?.mtls !== true || cn === null) return;
    const body = msg.body as { workerId?: unknown } | null;
    if (typeof body === 'object' && body !== null && body.workerId !== cn) {
      throw new TitanError(
        ErrorCode.FORBIDDEN,
        `this worker's certificate is for CN=${cn}, so it must register as ${cn}, not ${String(body.workerId)}: start it with --id ${cn} or without --id`,
      );
    }
  }

  private closed(): void {
    clearTimeout(this.authTimer);
    this.context.close();
    if (this.worker.workerId !== null) this.master.detachWorker(this.worker.workerId, this.peer, 'connection closed');
  }
}

/** Why an identity that authenticated earlier no longer counts. */
export function notCurrent(identity: Identity): string {
  if (identity.job === undefined) return `token ${identity.name} was revoked or has expired; ask an admin for a new one (\`titan token create\`)`;
  const { id, attempt, owner } = identity.job;
  return `the token of job ${id} is no longer valid: attempt ${attempt} has ended${identity.tokenId !== undefined ? `, or ${owner.name}'s token, which it acts for, was revoked or has expired` : ''}`;
}
