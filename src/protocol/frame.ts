import { ErrorCode, TitanError } from '../common/errors.js';

/** 2: version 1 is the original Java Titan's text protocol, which the master also serves (docs/COMPAT.md). */
export const PROTOCOL_VERSION = 2;
export const HEADER_SIZE = 8;
export const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;
/** The largest body the u32 length field can declare. */
export const MAX_FRAME_LIMIT = 0xffff_ffff;

/**
 * Reserved opcode for connection-level errors (a malformed frame, an unknown version): sent with
 * the ERROR flag and rid 0 just before the sender closes the connection.
 */
export const OPCODE_ERROR = 0;

export const Flags = {
  /** Answer to a request with the same rid. */
  RESPONSE: 0x01,
  /** The body is `{ code, message }`. */
  ERROR: 0x02,
  /** One chunk of a streamed answer. */
  STREAM: 0x04,
  /** Ends a stream (with STREAM), or, sent alone by the requester, cancels it. */
  END: 0x08,
  /** The body is UTF-8 JSON instead of MessagePack. */
  JSON: 0x10,
  /** Safe to ignore if the opcode is unknown to the receiver. */
  IGNORABLE: 0x20,
} as const;
export type Flag = (typeof Flags)[keyof typeof Flags];

export interface Frame {
  version: number;
  opcode: number;
  flags: number;
  body: Buffer;
}

function checkByte(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new TitanError(ErrorCode.BAD_FRAME, `frame ${name} must be an integer 0..255, got ${value}`);
  }
}

/** Writes the 8-byte header into `target` at `offset`. */
export function writeHeader(target: Buffer, offset: number, opcode: number, flags: number, length: number): void {
  target[offset] = PROTOCOL_VERSION;
  target[offset + 1] = opcode;
  target[offset + 2] = flags;
  target[offset + 3] = 0;
  target.writeUInt32BE(length, offset + 4);
}

/** Header and body in one allocation. */
export function encodeFrame(opcode: number, flags: number, body: Uint8Array): Buffer {
  checkByte('opcode', opcode);
  checkByte('flags', flags);
  if (body.length > MAX_FRAME_LIMIT) {
    throw new TitanError(ErrorCode.FRAME_TOO_LARGE, `frame body of ${body.length} bytes exceeds the 4 GiB wire limit`);
  }
  const out = Buffer.allocUnsafe(HEADER_SIZE + body.length);
  writeHeader(out, 0, opcode, flags, body.length);
  out.set(body, HEADER_SIZE);
  return out;
}

/** Allocates a frame whose body the caller fills in place (avoids a second copy). */
export function allocFrame(opcode: number, flags: number, length: number): Buffer {
  checkByte('opcode', opcode);
  checkByte('flags', flags);
  if (length > MAX_FRAME_LIMIT) {
    throw new TitanError(ErrorCode.FRAME_TOO_LARGE, `frame body of ${length} bytes exceeds the 4 GiB wire limit`);
  }
  const out = Buffer.allocUnsafe(HEADER_SIZE + length);
  writeHeader(out, 0, opcode, flags, length);
  return out;
}

export function hasFlag(flags: number, flag: Flag): boolean {
  return (flags & flag) !== 0;
}
