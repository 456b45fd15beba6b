import { ErrorCode, TitanError } from '../common/errors.js';
import type { WireLog } from '../common/wire-log.js';
import { Flags } from './frame.js';

/** A request or one-way message received from the other side. */
export interface IncomingMessage {
  readonly opcode: number;
  /** Request id; 0 for a one-way message (no reply expected). */
  readonly rid: number;
  readonly body: unknown;
  /** The sender used JSON; replies mirror it automatically. */
  readonly json: boolean;
  readonly flags: number;
}

/** Answers one incoming request. After ok/error/end, or a cancel, further calls do nothing. */
export interface Replier {
  /** False for one-way messages: every method is then a no-op. */
  readonly expectsReply: boolean;
  /** Aborted when the requester cancels the stream or the connection closes. */
  readonly signal: AbortSignal;
  ok(body?: unknown): void;
  /** `leader` is sent as a field of the body (E_NOT_LEADER names the master to ask). */
  error(code: ErrorCode, message: string, leader?: string | null): void;
  /** Sends one stream chunk. Returns false when the connection needs a drain (see whenWritable). */
  chunk(body: unknown): boolean;
  /**
   * Runs `cb` once the connection can take more: at once when it can, on its next drain, or when
   * it closes (the writer then sees `signal` aborted). A stream that follows its reader's pace
   * sends a page, and the next one only from here.
   */
  whenWritable(cb: () => void): void;
  /** Ends a stream, optionally with a final body the requester's stream() resolves to. */
  end(body?: unknown): void;
}

export type RequestHandler = (msg: IncomingMessage, reply: Replier) => void | Promise<void>;

/** What a Reply needs from its peer; keeps this file free of a dependency on Peer. */
export interface ReplySink {
  /** Sends one answer frame; returns false when the caller should wait for a drain. */
  sendAnswer(reply: Reply, flags: number, body: unknown): boolean;
  track(reply: Reply): void;
  untrack(reply: Reply): void;
  whenWritable(cb: () => void): void;
}

export class Reply implements Replier {
  private done = false;
  private cancelled = false;
  private controller: AbortController | undefined;

  // Tracked from the start so a cancel or a close reaches it even before it has sent anything.
  constructor(
    private readonly sink: ReplySink,
    readonly opcode: number,
    readonly rid: number,
    readonly json: boolean,
  ) {
    sink.track(this);
  }

  get expectsReply(): boolean {
    return true;
  }

  get finished(): boolean {
    return this.done;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort();
    }
    return this.controller.signal;
  }

  ok(body?: unknown): void {
    this.finish(Flags.RESPONSE, body);
  }

  error(code: ErrorCode, message: string, leader?: string | null): void {
    this.finish(Flags.RESPONSE | Flags.ERROR, leader === undefined ? { code, message } : { code, message, leader });
  }

  chunk(body: unknown): boolean {
    if (this.done) return false;
    return this.sink.sendAnswer(this, Flags.STREAM, body);
  }

  end(body?: unknown): void {
    this.finish(Flags.STREAM | Flags.END, body);
  }

  whenWritable(cb: () => void): void {
    this.sink.whenWritable(cb);
  }

  /** The requester cancelled, or the connection is gone: stop answering. */
  cancel(): void {
    if (this.done) return;
    this.cancelled = true;
    this.settle();
    this.controller?.abort();
  }

  /** Marks the reply complete without sending anything (the peer already answered for it). */
  settle(): void {
    if (this.done) return;
    this.done = true;
    this.sink.untrack(this);
  }

  private finish(flags: number, body: unknown): void {
    if (this.done) return;
    this.settle();
    this.sink.sendAnswer(this, flags, body);
  }
}

const neverAborted = new AbortController().signal;

/** The replier handed out with one-way messages. */
export const noReply: Replier = {
  expectsReply: false,
  signal: neverAborted,
  ok: () => undefined,
  error: () => undefined,
  chunk: () => false,
  whenWritable: (cb) => cb(),
  end: () => undefined,
};

const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

function isErrorCode(code: string): code is ErrorCode {
  return knownCodes.has(code);
}

/** Turns an error body from the wire into a TitanError; unknown codes keep their name in the message. */
export function errorFromBody(body: unknown): TitanError {
  if (typeof body === 'object' && body !== null) {
    const { code, message, leader } = body as { code?: unknown; message?: unknown; leader?: unknown };
    if (typeof code === 'string' && typeof message === 'string') {
      if (!isErrorCode(code)) return new TitanError(ErrorCode.INTERNAL, `${code}: ${message}`);
      return typeof leader === 'string' || leader === null ? new TitanError(code, message, leader) : new TitanError(code, message);
    }
  }
  return new TitanError(ErrorCode.BAD_BODY, 'the remote answered with an error frame whose body is not {code, message}');
}

/**
 * Runs the handler for one incoming message. A throw or rejection becomes an error reply (a
 * TitanError keeps its code), so a faulty handler never leaves the requester waiting.
 */
export function runHandler(handler: RequestHandler | undefined, msg: IncomingMessage, reply: Replier, log: WireLog): void {
  if (!handler) {
    reply.error(ErrorCode.INVALID_REQUEST, `this peer accepts no requests (opcode ${msg.opcode})`);
    return;
  }
  const fail = (err: unknown): void => {
    const unanswered = reply instanceof Reply && !reply.finished;
    if (err instanceof TitanError && unanswered) {
      reply.error(err.code, err.message);
      return;
    }
    log.error({ err, opcode: msg.opcode, rid: msg.rid }, 'request handler failed');
    const message = err instanceof Error ? err.message : String(err);
    reply.error(ErrorCode.INTERNAL, `internal error while handling opcode ${msg.opcode}: ${message}`);
  };
  try {
    const result = handler(msg, reply);
    if (result instanceof Promise) result.then(undefined, fail);
  } catch (err) {
    fail(err);
  }
}
