import { ErrorCode, TitanError } from '../common/errors.js';

/**
 * Protocol version 1: the original Java Titan's framing. The same 8-byte header as TITAN_PROTO
 * (`version u8 | opcode u8 | flags u8 | spare u8 | length u32 BE`), a UTF-8 text payload, one
 * request and one reply per TCP connection.
 */
export const LEGACY_VERSION = 1;
const HEADER_SIZE = 8;

/** The original's opcodes, as its Python SDK and CLI send them (docs/COMPAT.md maps each one). */
export const LegacyOp = {
  HEARTBEAT: 0x01,
  REGISTER: 0x02,
  SUBMIT_JOB: 0x03,
  SUBMIT_DAG: 0x04,
  DEPLOY: 0x05,
  RUN: 0x06,
  STOP: 0x07,
  STATS: 0x08,
  STATS_JSON: 0x09,
  KILL_WORKER: 0x11,
  GET_LOGS: 0x16,
  UPLOAD_ASSET: 0x53,
  FETCH_ASSET: 0x54,
  GET_JOB_STATUS: 0x55,
  CANCEL_JOB: 0x56,
  DEPLOY_SCRIPT: 0x57,
  KV_SET: 0x60,
  KV_GET: 0x61,
  KV_SADD: 0x62,
  KV_SMEMBERS: 0x63,
  // replies
  ACK: 0x50,
  ERROR: 0x51,
  DATA: 0x52,
} as const;

export interface LegacyRequest {
  readonly opcode: number;
  readonly payload: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Collects the one request of a v1 connection, however the bytes are cut. Throws (E_BAD_FRAME,
 * E_FRAME_TOO_LARGE, E_UNKNOWN_VERSION) as soon as the header shows the request cannot be served.
 */
export class LegacyFrameReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private length: number | undefined;

  constructor(private readonly maxPayload: number) {}

  /** Adds bytes; returns the request once it is complete. Bytes after it are ignored. */
  push(chunk: Buffer): LegacyRequest | undefined {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < HEADER_SIZE) return undefined;
    // Joined at most twice (once for the header, once whole), so a large upload costs one copy.
    if (this.length === undefined) this.length = checkHeader(this.join(), this.maxPayload);
    if (this.buffered < HEADER_SIZE + this.length) return undefined;
    const all = this.join();
    const body = all.subarray(HEADER_SIZE, HEADER_SIZE + this.length);
    let payload: string;
    try {
      payload = utf8.decode(body);
    } catch {
      throw new TitanError(ErrorCode.BAD_FRAME, 'the payload is not valid UTF-8; protocol v1 payloads are UTF-8 text');
    }
    return { opcode: all[1] as number, payload };
  }

  private join(): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    this.chunks.splice(0, this.chunks.length, all);
    return all;
  }
}

function checkHeader(header: Buffer, maxPayload: number): number {
  const version = header[0] as number;
  if (version !== LEGACY_VERSION) {
    throw new TitanError(ErrorCode.UNKNOWN_VERSION, `frame has protocol version ${version}, expected ${LEGACY_VERSION} on a v1 connection`);
  }
  const length = header.readUInt32BE(4);
  if (length > maxPayload) {
    throw new TitanError(
      ErrorCode.FRAME_TOO_LARGE,
      `the request declares ${length} bytes, over this master's ${maxPayload}-byte maximum; send less per request`,
    );
  }
  return length;
}

/** A v1 reply: header with version 1 and the reply opcode, then the text. */
export function encodeLegacyFrame(opcode: number, text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(HEADER_SIZE + body.length);
  out[0] = LEGACY_VERSION;
  out[1] = opcode;
  out.writeUInt32BE(body.length, 4);
  body.copy(out, HEADER_SIZE);
  return out;
}
