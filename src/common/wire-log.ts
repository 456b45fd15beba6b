/**
 * The two calls the wire layer (peer, outbox, replier) makes of a logger. A pino Logger is one;
 * kept this narrow so the protocol code, and the client package built from it, need no pino.
 */
export interface WireLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const ignore = (): void => undefined;

/** Drops everything: a connection logs nothing unless it is given a logger. */
export const quietWireLog: WireLog = { warn: ignore, error: ignore };
