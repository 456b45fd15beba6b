import { asTitanError, ErrorCode, TitanError } from '../common/errors.js';
import type { ClientContext } from '../master/client-context.js';
import type { MasterRequests } from '../master/ports.js';
import type { Opcode } from '../protocol/opcodes.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';

type OpcodeValue = (typeof Opcode)[keyof typeof Opcode];

export interface StreamSink {
  chunk(body: unknown): boolean;
  /** Runs `cb` once the client can take more (or has gone); at once when absent. */
  whenWritable?(cb: () => void): void;
  end(body: unknown): void;
  readonly signal: AbortSignal;
}

/**
 * Runs one client operation exactly as the TCP protocol does (the same handler, the same schema
 * check of the body) and resolves with its answer; an error answer rejects with its TitanError.
 * This is how every REST route reaches the master: no operation is written twice.
 */
export function callMaster(requests: MasterRequests, ctx: ClientContext, opcode: OpcodeValue, body: unknown, stream?: StreamSink): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (fn: () => void): void => {
      if (done) return;
      done = true;
      fn();
    };
    const reply: Replier = {
      expectsReply: true,
      signal: stream?.signal ?? new AbortController().signal,
      ok: (answer?: unknown) => settle(() => resolve(answer)),
      error: (code: ErrorCode, message: string) => settle(() => reject(new TitanError(code, message))),
      chunk: (answer: unknown) => (done ? false : (stream?.chunk(answer) ?? true)),
      whenWritable: (cb: () => void) => (stream?.whenWritable !== undefined ? stream.whenWritable(cb) : cb()),
      end: (answer?: unknown) => {
        stream?.end(answer);
        settle(() => resolve(answer));
      },
    };
    const msg: IncomingMessage = { opcode, rid: 1, body, json: true, flags: 0 };
    try {
      requests.handle(ctx, msg, reply);
    } catch (err) {
      settle(() => reject(asTitanError(err)));
    }
  });
}
