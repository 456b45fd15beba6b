import { TitanError, ErrorCode } from '../common/errors.js';
import { Opcode, opcodeName } from '../protocol/opcodes.js';
import { AuthRequest } from '../protocol/messages.js';
import { parseBody } from './parse-body.js';
import type { Peer } from '../protocol/peer.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import { tokensMatch } from './token.js';
import { handleWorkerMessage, type WorkerContext } from './worker-handlers.js';
import { handleClientMessage } from './client-handlers.js';
import type { Master } from './master.js';
import type { ClientContext } from './client-context.js';

/**
 * One connection. The first frame must authenticate; after that the role chosen there decides
 * which opcodes are served. A handler's error is answered on the wire and never escapes.
 */
export class Session implements ClientContext {
  private role: 'none' | 'worker' | 'client' = 'none';
  private readonly worker: WorkerContext = { workerId: null };
  private readonly authTimer: NodeJS.Timeout;
  private readonly cleanups = new Set<() => void>();

  constructor(
    private readonly master: Master,
    readonly peer: Peer,
  ) {
    this.authTimer = setTimeout(() => {
      if (this.role === 'none') this.peer.close();
    }, master.options.authTimeoutMs);
    this.authTimer.unref();
    peer.onRequest((msg, reply) => this.receive(msg, reply));
    peer.onClose(() => this.closed());
  }

  /**
   * Registers something to undo when the connection goes (log followers, waiters). Returns a
   * function that unregisters it, for waits that end first: a long-lived SDK connection must
   * not accumulate one entry per finished wait.
   */
  onClose(cleanup: () => void): () => void {
    this.cleanups.add(cleanup);
    return () => this.cleanups.delete(cleanup);
  }

  get remoteAddress(): string {
    return this.peer.remoteAddress;
  }

  close(): void {
    this.peer.close();
  }

  private receive(msg: IncomingMessage, reply: Replier): void {
    try {
      if (this.role === 'none') this.authenticate(msg, reply);
      else if (this.role === 'worker') handleWorkerMessage(this.master, this, this.worker, msg, reply);
      else handleClientMessage(this.master, this, msg, reply);
    } catch (err) {
      const error = err instanceof TitanError ? err : new TitanError(ErrorCode.INTERNAL, (err as Error).message);
      if (error.code === ErrorCode.INTERNAL) this.master.log.error({ err, opcode: opcodeName(msg.opcode) }, 'request failed');
      if (msg.rid !== 0) reply.error(error.code, error.message);
      else this.master.log.warn({ code: error.code, opcode: opcodeName(msg.opcode), message: error.message }, 'bad one-way message');
    }
  }

  private authenticate(msg: IncomingMessage, reply: Replier): void {
    if (msg.opcode !== Opcode.AUTH) {
      reply.error(ErrorCode.UNAUTHENTICATED, `the first frame must be AUTH (opcode ${Opcode.AUTH}), got ${opcodeName(msg.opcode)}`);
      this.peer.close();
      return;
    }
    const auth = parseBody(AuthRequest, msg);
    if (!tokensMatch(this.master.token, auth.token)) {
      this.master.log.warn({ from: this.peer.remoteAddress }, 'refused a connection with a bad token');
      reply.error(ErrorCode.UNAUTHENTICATED, 'bad cluster token: use the token printed by `titan up` or stored in the data dir file `token`');
      this.peer.close();
      return;
    }
    clearTimeout(this.authTimer);
    this.role = auth.role;
    reply.ok({ ok: true, heartbeatIntervalMs: this.master.options.heartbeatIntervalMs });
  }

  private closed(): void {
    clearTimeout(this.authTimer);
    const cleanups = [...this.cleanups];
    this.cleanups.clear();
    for (const cleanup of cleanups) cleanup();
    if (this.worker.workerId !== null) this.master.detachWorker(this.worker.workerId, this.peer, 'connection closed');
  }
}
