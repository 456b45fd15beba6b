import { ErrorCode, TitanError } from '../common/errors.js';
import { quietWireLog, type WireLog } from '../common/wire-log.js';
import { decodeEnvelope, encodeMessage } from './codec.js';
import { DEFAULT_MAX_FRAME, Flags, HEADER_SIZE, OPCODE_ERROR, type Frame } from './frame.js';
import { FrameReader } from './frame-reader.js';
import { DEFAULT_BODY_LIMITS, type BodyLimits } from './body-limits.js';
import { Outbox } from './outbox.js';
import { PendingTable, type Pending } from './pending.js';
import { errorFromBody, noReply, Reply, runHandler, type ReplySink, type RequestHandler } from './replier.js';
import type { Transport } from './transport.js';

export type { IncomingMessage, Replier, RequestHandler } from './replier.js';

export interface PeerOptions {
  /** Largest frame body accepted and sent, in bytes (default 16 MiB). */
  maxFrameSize?: number;
  /** Default for request(); 0 waits forever (default 30 s). */
  requestTimeoutMs?: number;
  /**
   * Which incoming opcodes this side understands. An unknown one flagged IGNORABLE is dropped
   * (or answered E_UNKNOWN_OPCODE if it expects a reply); any other is a protocol error.
   * Without it every opcode goes to the request handler.
   */
  isKnownOpcode?: (opcode: number) => boolean;
  /** Depth and entry limits on every decoded body (DEFAULT_BODY_LIMITS when absent). */
  bodyLimits?: BodyLimits;
  logger?: WireLog;
}

export interface SendOptions {
  /** Encode as JSON instead of MessagePack. */
  json?: boolean;
  /** The receiver may drop this if it does not know the opcode. */
  ignorable?: boolean;
}
export interface RequestOptions extends SendOptions {
  timeoutMs?: number;
}
export interface StreamOptions extends SendOptions {
  /** Aborting cancels the stream on the remote side and resolves stream() with undefined. */
  signal?: AbortSignal;
}

export type ProtocolErrorOrigin = 'local' | 'remote';

/**
 * One TITAN_PROTO connection: many concurrent requests, streams and one-way messages in both
 * directions, matched by request id. Never throws out of the transport's callbacks: a malformed
 * frame is answered with an error frame and the connection is closed.
 */
export class Peer {
  private readonly reader: FrameReader;
  private readonly log: WireLog;
  private readonly maxFrameSize: number;
  private readonly requestTimeoutMs: number;
  private readonly isKnownOpcode: ((opcode: number) => boolean) | undefined;
  private readonly bodyLimits: BodyLimits;
  private readonly pending = new PendingTable();
  private readonly outbox: Outbox;
  private readonly active = new Map<number, Reply>();
  private readonly sink: ReplySink;
  private handler: RequestHandler | undefined;
  private closed = false;
  private remoteJson = false;
  private readonly closeListeners: Array<() => void> = [];
  /** Waiting for a drain (whenWritable); released by the drain or the close. */
  private writers: Array<() => void> = [];
  private readonly protocolErrorListeners: Array<(err: TitanError, origin: ProtocolErrorOrigin) => void> = [];

  constructor(
    private readonly transport: Transport,
    options: PeerOptions = {},
  ) {
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME;
    this.reader = new FrameReader({ maxFrameSize: this.maxFrameSize });
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.isKnownOpcode = options.isKnownOpcode;
    this.bodyLimits = options.bodyLimits ?? DEFAULT_BODY_LIMITS;
    this.log = options.logger ?? quietWireLog;
    this.outbox = new Outbox(transport, this.log);
    this.sink = {
      sendAnswer: (reply, flags, body) => this.sendAnswer(reply, flags, body),
      track: (reply) => this.active.set(reply.rid, reply),
      untrack: (reply) => {
        if (this.active.get(reply.rid) === reply) this.active.delete(reply.rid);
      },
      whenWritable: (cb) => this.whenWritable(cb),
    };
    this.outbox.onDrain(() => this.releaseWriters());
    transport.onData((chunk) => this.receive(chunk));
    transport.onClose((err) => {
      const why = err ? ` (${err.message})` : '';
      this.teardown(`connection to ${this.remoteAddress} closed${why} before the answer arrived; retry on a new connection`);
    });
  }

  /**
   * The largest frame body accepted from now on, at most the size given at construction (the
   * master accepts only small frames until AUTH succeeds); `hint` says what to do about a bigger one.
   */
  limitIncomingFrames(max: number, hint?: string): void {
    this.reader.limit(Math.min(max, this.maxFrameSize), hint);
  }

  get remoteAddress(): string {
    return this.transport.remoteAddress;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True after a write the transport could not absorb; wait for onDrain before sending much more. */
  get writableNeedDrain(): boolean {
    return this.outbox.writableNeedDrain;
  }

  /** Requests awaiting an answer (requests and streams). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Sends a request and resolves with the answer's body; rejects with a TitanError. */
  request(opcode: number, body: unknown, opts: RequestOptions = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
      const rid = this.begin(opcode, body, opts, { opcode, resolve, reject, onChunk: undefined, json: opts.json ?? false });
      if (rid === 0 || timeoutMs <= 0 || !Number.isFinite(timeoutMs)) return;
      const p = this.pending.get(rid) as Pending;
      p.timer = setTimeout(() => {
        if (!this.pending.settle(rid, p)) return;
        p.reject(
          new TitanError(
            ErrorCode.TIMEOUT,
            `request (opcode ${opcode}) to ${this.remoteAddress} got no answer within ${timeoutMs} ms; ` +
              'the remote may be overloaded or hung: retry, or pass a larger timeoutMs',
          ),
        );
      }, timeoutMs);
    });
  }

  /**
   * Sends a request answered by a stream: `onChunk` gets each chunk in order, and the promise
   * resolves with the final end body (or undefined when cancelled by `opts.signal`).
   */
  stream(opcode: number, body: unknown, onChunk: (body: unknown) => void, opts: StreamOptions = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const signal = opts.signal;
      if (signal?.aborted) {
        resolve(undefined);
        return;
      }
      const rid = this.begin(opcode, body, opts, { opcode, resolve, reject, onChunk, json: opts.json ?? false });
      if (rid === 0 || !signal) return;
      const p = this.pending.get(rid) as Pending;
      const onAbort = (): void => this.cancelStream(rid, p, undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      p.unlisten = () => signal.removeEventListener('abort', onAbort);
    });
  }

  /** Sends a one-way message (rid 0). Returns false if the connection is closed. */
  notify(opcode: number, body: unknown, opts: SendOptions = {}): boolean {
    if (this.closed) return false;
    this.outbox.send(this.encode(opcode, opts.ignorable ? Flags.IGNORABLE : 0, 0, body, opts.json ?? false, 'message'));
    return true;
  }

  /** Handles incoming requests and one-way messages (rid 0, with a no-op replier). */
  onRequest(handler: RequestHandler): void {
    this.handler = handler;
  }

  /** A malformed frame from the remote ('local': we answered it and closed) or an error it reported ('remote'). */
  onProtocolError(cb: (err: TitanError, origin: ProtocolErrorOrigin) => void): void {
    this.protocolErrorListeners.push(cb);
  }

  onDrain(cb: () => void): void {
    this.outbox.onDrain(cb);
  }

  /** Runs `cb` once: now when the connection can take more, else on its next drain or its close. */
  whenWritable(cb: () => void): void {
    if (this.closed || !this.outbox.writableNeedDrain) queueMicrotask(cb);
    else this.writers.push(cb);
  }

  private releaseWriters(): void {
    const writers = this.writers;
    this.writers = [];
    for (const cb of writers) this.safely('whenWritable', cb);
  }

  /** Called once when the connection is gone, whichever side closed it. */
  onClose(cb: () => void): void {
    if (this.closed) queueMicrotask(cb);
    else this.closeListeners.push(cb);
  }

  /** Flushes queued frames, rejects pending requests with E_CONNECTION_CLOSED and closes. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.outbox.flush();
    this.teardown(`connection to ${this.remoteAddress} was closed locally before the answer arrived`);
    this.transport.close();
  }

  /** Registers a pending request and sends it; returns its rid, or 0 after rejecting. */
  private begin(opcode: number, body: unknown, opts: SendOptions, p: Pending): number {
    if (this.closed) {
      p.reject(new TitanError(ErrorCode.CONNECTION_CLOSED, `connection to ${this.remoteAddress} is closed; open a new one`));
      return 0;
    }
    const rid = this.pending.add(p);
    try {
      this.outbox.send(this.encode(opcode, opts.ignorable ? Flags.IGNORABLE : 0, rid, body, p.json, 'request'));
    } catch (err) {
      this.pending.settle(rid, p);
      p.reject(err);
      return 0;
    }
    return rid;
  }

  private encode(opcode: number, flags: number, rid: number, body: unknown, json: boolean, what: string): Buffer {
    const frame = encodeMessage(opcode, flags, { rid, body }, json);
    const size = frame.length - HEADER_SIZE;
    if (size > this.maxFrameSize) {
      throw new TitanError(
        ErrorCode.FRAME_TOO_LARGE,
        `${what} body (opcode ${opcode}) encodes to ${size} bytes, over the ${this.maxFrameSize}-byte frame maximum; ` +
          "split the payload or raise the master's --max-frame",
      );
    }
    return frame;
  }

  private sendAnswer(reply: Reply, flags: number, body: unknown): boolean {
    if (this.closed) return false;
    try {
      this.outbox.send(this.encode(reply.opcode, flags, reply.rid, body, reply.json, 'reply'));
    } catch (err) {
      const failure = err instanceof TitanError ? err : new TitanError(ErrorCode.INTERNAL, String(err));
      this.log.error({ remote: this.remoteAddress, opcode: reply.opcode, code: failure.code }, failure.message);
      reply.settle();
      if ((flags & Flags.ERROR) === 0) {
        const errorBody = { code: failure.code, message: failure.message };
        this.outbox.send(this.encode(reply.opcode, Flags.RESPONSE | Flags.ERROR, reply.rid, errorBody, reply.json, 'reply'));
      }
    }
    return !this.outbox.writableNeedDrain;
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.protocolError(err);
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      try {
        this.handleFrame(frame);
      } catch (err) {
        this.protocolError(err);
        return;
      }
    }
  }

  private handleFrame(frame: Frame): void {
    const flags = frame.flags;
    const json = (flags & Flags.JSON) !== 0;
    this.remoteJson = json;
    const { rid, body } = decodeEnvelope(frame, this.bodyLimits);
    if ((flags & (Flags.RESPONSE | Flags.ERROR | Flags.STREAM)) !== 0) {
      if (rid !== 0) this.handleAnswer(rid, flags, body);
      else if ((flags & Flags.ERROR) !== 0) this.remoteProtocolError(errorFromBody(body));
      return;
    }
    if ((flags & Flags.END) !== 0) {
      this.active.get(rid)?.cancel();
      return;
    }
    if (this.isKnownOpcode && !this.isKnownOpcode(frame.opcode)) {
      if ((flags & Flags.IGNORABLE) === 0) {
        throw new TitanError(
          ErrorCode.UNKNOWN_OPCODE,
          `opcode ${frame.opcode} is unknown to this peer; upgrade it, or flag optional messages IGNORABLE (0x20)`,
        );
      }
      if (rid !== 0) {
        new Reply(this.sink, frame.opcode, rid, json).error(ErrorCode.UNKNOWN_OPCODE, `opcode ${frame.opcode} is unknown to this peer`);
      }
      return;
    }
    const msg = { opcode: frame.opcode, rid, body, json, flags };
    runHandler(this.handler, msg, rid === 0 ? noReply : new Reply(this.sink, frame.opcode, rid, json), this.log);
  }

  private handleAnswer(rid: number, flags: number, body: unknown): void {
    const p = this.pending.get(rid);
    if (!p) return; // late answer to a request that timed out or was cancelled
    if ((flags & Flags.ERROR) !== 0) {
      this.pending.settle(rid, p);
      p.reject(errorFromBody(body));
    } else if (p.onChunk && (flags & Flags.STREAM) !== 0 && (flags & Flags.END) === 0) {
      try {
        p.onChunk(body);
      } catch (err) {
        this.cancelStream(rid, p, err);
      }
    } else if ((flags & (Flags.RESPONSE | Flags.END)) !== 0) {
      this.pending.settle(rid, p);
      p.resolve(body);
    }
  }

  /** Stops a stream we requested; `err` (a throwing onChunk) rejects it, otherwise it resolves. */
  private cancelStream(rid: number, p: Pending, err: unknown): void {
    if (!this.pending.settle(rid, p)) return;
    if (!this.closed) this.outbox.send(encodeMessage(p.opcode, Flags.END, { rid, body: null }, p.json));
    if (err === undefined) p.resolve(undefined);
    else p.reject(err);
  }

  private protocolError(cause: unknown): void {
    if (this.closed) return;
    const err = cause instanceof TitanError ? cause : new TitanError(ErrorCode.INTERNAL, `internal error: ${String(cause)}`);
    this.log.warn({ remote: this.remoteAddress, code: err.code }, err.message);
    const body = { code: err.code, message: err.message };
    this.outbox.send(encodeMessage(OPCODE_ERROR, Flags.ERROR, { rid: 0, body }, this.remoteJson));
    this.outbox.flush();
    this.emitProtocolError(err, 'local');
    this.teardown(`connection to ${this.remoteAddress} was closed after a protocol error (${err.code}: ${err.message})`);
    this.transport.close();
  }

  private remoteProtocolError(err: TitanError): void {
    this.log.warn({ remote: this.remoteAddress, code: err.code }, `remote reported: ${err.message}`);
    this.emitProtocolError(err, 'remote');
    this.teardown(`connection to ${this.remoteAddress} was closed by the remote after it reported ${err.code}: ${err.message}`);
    this.transport.close();
  }

  private teardown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.outbox.close();
    this.pending.rejectAll(new TitanError(ErrorCode.CONNECTION_CLOSED, reason));
    for (const reply of [...this.active.values()]) reply.cancel();
    this.releaseWriters();
    for (const cb of this.closeListeners.splice(0)) this.safely('onClose', cb);
  }

  private emitProtocolError(err: TitanError, origin: ProtocolErrorOrigin): void {
    for (const cb of this.protocolErrorListeners) this.safely('onProtocolError', () => cb(err, origin));
  }

  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, remote: this.remoteAddress }, `${what} listener threw`);
    }
  }
}
