import { createRequire } from 'node:module';
import type { Decoder as MsgpackDecoder, Encoder as MsgpackEncoder } from '@msgpack/msgpack';
import { ErrorCode, TitanError } from '../common/errors.js';
import { allocFrame, Flags, HEADER_SIZE, type Frame } from './frame.js';
import { checkMsgpackShape, DEFAULT_BODY_LIMITS, type BodyLimits } from './body-limits.js';
import { parseJsonBody } from './json-body.js';

/** What every frame body carries. `rid` 0 means no reply is expected. */
export interface Envelope {
  rid: number;
  body: unknown;
}

// The package's one-file UMD build, required as CommonJS: the two classes from its CommonJS build
// are eleven files, and its index loads the streaming and async decoders too. One file halves the
// MessagePack start-up cost every `titan` command pays (issue 15); the code is the same. A package
// update that moves this file fails here, at the first import, in every test.
const requireCjs = createRequire(import.meta.url);
const { Encoder, Decoder } = requireCjs('@msgpack/msgpack/dist.umd/msgpack.min.js') as { Encoder: typeof MsgpackEncoder; Decoder: typeof MsgpackDecoder };

// One instance each: the encoder reuses its internal buffer and the decoder caches map keys.
const encoder = new Encoder();
const decoder = new Decoder();

/** The master's flags that raise the decode limits, named in the errors. */
const RAISE = { depth: "the master's --max-body-depth", entries: "the master's --max-body-entries" } as const;

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function cannotEncode(err: unknown, json: boolean): TitanError {
  return new TitanError(
    ErrorCode.BAD_BODY,
    `message body cannot be encoded as ${json ? 'JSON' : 'MessagePack'}: ${describe(err)}; ` +
      'send plain data (objects, arrays, strings, numbers, booleans, null, bytes) without cycles',
  );
}

function checkRid(rid: number): void {
  if (!Number.isSafeInteger(rid) || rid < 0) {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `envelope rid must be a non-negative integer, got ${rid}`);
  }
}

/**
 * JSON has no bytes: a JSON-speaking peer (the stdlib Python SDK) gets them as base64 strings.
 * Buffer's own toJSON runs before a replacer sees it, hence the second shape.
 */
function bytesAsBase64(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data).toString('base64');
  }
  return value;
}

// undefined has no JSON form (the key would vanish), so both encodings carry it as null.
function wire(env: Envelope): Envelope {
  return env.body === undefined ? { rid: env.rid, body: null } : env;
}

/** Encodes an envelope as a fresh byte array (MessagePack, or UTF-8 JSON when `json`). */
export function encodeEnvelope(env: Envelope, json: boolean): Uint8Array {
  checkRid(env.rid);
  try {
    return json ? Buffer.from(JSON.stringify(wire(env), bytesAsBase64), 'utf8') : encoder.encode(wire(env));
  } catch (err) {
    throw cannotEncode(err, json);
  }
}

/**
 * Encodes an envelope straight into a complete frame: one allocation, no intermediate copy of the
 * body. The JSON flag is set or cleared in `flags` to match `json`.
 */
export function encodeMessage(opcode: number, flags: number, env: Envelope, json: boolean): Buffer {
  checkRid(env.rid);
  const frameFlags = json ? flags | Flags.JSON : flags & ~Flags.JSON;
  if (json) {
    let text: string;
    try {
      text = JSON.stringify(wire(env), bytesAsBase64);
    } catch (err) {
      throw cannotEncode(err, json);
    }
    const out = allocFrame(opcode, frameFlags, Buffer.byteLength(text, 'utf8'));
    out.write(text, HEADER_SIZE, 'utf8');
    return out;
  }
  let body: Uint8Array;
  try {
    body = encoder.encodeSharedRef(wire(env));
  } catch (err) {
    throw cannotEncode(err, json);
  }
  const out = allocFrame(opcode, frameFlags, body.length);
  out.set(body, HEADER_SIZE);
  return out;
}

/**
 * Decodes and checks a frame's envelope. Binary fields come back as Uint8Array views into the
 * frame body; copy them if they must outlive it for long.
 */
export function decodeEnvelope(frame: Frame, limits: BodyLimits = DEFAULT_BODY_LIMITS): Envelope {
  const json = (frame.flags & Flags.JSON) !== 0;
  const what = `frame body (opcode ${frame.opcode})`;
  const invalid = (reason: string): TitanError =>
    new TitanError(
      ErrorCode.BAD_BODY,
      `frame body (opcode ${frame.opcode}, ${frame.body.length} bytes) is not valid ${json ? 'UTF-8 JSON' : 'MessagePack'}: ` +
        `${reason}; encode bodies as ${json ? 'JSON' : 'MessagePack'} or ${json ? 'clear' : 'set'} the JSON flag (0x10)`,
    );
  let value: unknown;
  if (json) value = parseJsonBody(frame.body, limits, { what, raise: RAISE, invalid });
  else {
    checkMsgpackShape(frame.body, limits, what, RAISE);
    try {
      value = decoder.decode(frame.body);
    } catch (err) {
      throw invalid(describe(err));
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw badEnvelope(frame, 'is not a map');
  }
  const rid: unknown = (value as { rid?: unknown }).rid;
  if (typeof rid !== 'number' || !Number.isSafeInteger(rid) || rid < 0) {
    throw badEnvelope(frame, `has rid ${typeof rid === 'string' ? JSON.stringify(rid) : String(rid)}, not a non-negative integer`);
  }
  const body: unknown = (value as { body?: unknown }).body;
  return { rid, body: body === undefined ? null : body };
}

function badEnvelope(frame: Frame, problem: string): TitanError {
  return new TitanError(
    ErrorCode.BAD_BODY,
    `frame body (opcode ${frame.opcode}) ${problem}; every body must be an envelope {"rid": <request id, 0 if none>, "body": <message>}`,
  );
}
