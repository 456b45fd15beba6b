import { isUtf8 } from 'node:buffer';
import { ErrorCode, TitanError } from '../common/errors.js';

/**
 * How much structure one decoded body may have. The frame size bounds the bytes; these bound
 * what a small number of bytes can expand into (a 16 MiB run of one-byte nested arrays is
 * 16 million levels, each an allocation) before anything is allocated.
 */
export interface BodyLimits {
  /** Deepest nesting of arrays and maps. */
  readonly maxDepth: number;
  /** Most array items plus map entries in one body, all containers counted together. */
  readonly maxEntries: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = { maxDepth: 64, maxEntries: 100_000 };

/**
 * What a client or worker accepts from the master it dialled. The master's entry bound is for
 * input from anyone; its own replies (a 10,000-job DAG's status holds well over 100,000 entries)
 * are bounded by the frame size alone. Depth stays bounded: no reply nests deeply.
 */
export const MASTER_REPLY_LIMITS: BodyLimits = { maxDepth: DEFAULT_BODY_LIMITS.maxDepth, maxEntries: Number.MAX_SAFE_INTEGER };

/** The first frame of a connection (AUTH: a token, a role, a name) fits well inside this. */
export const PRE_AUTH_MAX_FRAME = 8 * 1024;

/** Keys that would reach an object's prototype if assigned (`obj[key] = …`) rather than defined. */
export const PROTO_KEY = '__proto__';

export type PathStep = string | number;

/** `env.PATH`, `jobs[3].args[0]`: a field named the way a reader finds it in the body. */
export function formatPath(path: readonly PathStep[]): string {
  if (path.length === 0) return 'the body';
  return path.map((step, i) => (typeof step === 'number' ? `[${step}]` : i === 0 ? step : `.${step}`)).join('');
}

export function tooDeep(what: string, path: readonly PathStep[], limits: BodyLimits, raise: string): TitanError {
  return new TitanError(
    ErrorCode.BAD_BODY,
    `${what} nests arrays/maps deeper than ${limits.maxDepth} levels (at ${formatPath(path)}); flatten the data or raise ${raise}`,
  );
}

export function tooMany(what: string, limits: BodyLimits, raise: string): TitanError {
  return new TitanError(
    ErrorCode.BAD_BODY,
    `${what} holds more than ${limits.maxEntries} array items and map entries; split it into smaller requests or raise ${raise}`,
  );
}

export function notUtf8(what: string, path: readonly PathStep[]): TitanError {
  return new TitanError(
    ErrorCode.BAD_BODY,
    `${what}: ${formatPath(path)} is not valid UTF-8; send text as UTF-8 (binary data as bytes or base64), nothing was changed`,
  );
}

export function protoKey(what: string, path: readonly PathStep[]): TitanError {
  return new TitanError(
    ErrorCode.BAD_BODY,
    `${what}: the key "__proto__" (in ${formatPath(path)}) is not accepted, it names the prototype of a JavaScript object; rename the key`,
  );
}

interface Level {
  /** Items still to read: a map counts its keys and values separately. */
  remaining: number;
  readonly isMap: boolean;
  readonly items: number;
  /** The last string key read in this map (offset and length into the body), -1 when none. */
  keyStart: number;
  keyLength: number;
}

/** Bytes of the length field after a str/bin/ext/array/map code, and what follows it. */
const SIZED: Record<number, { bytes: 1 | 2 | 4; kind: 'bin' | 'ext' | 'str' | 'array' | 'map' }> = {
  0xc4: { bytes: 1, kind: 'bin' },
  0xc5: { bytes: 2, kind: 'bin' },
  0xc6: { bytes: 4, kind: 'bin' },
  0xc7: { bytes: 1, kind: 'ext' },
  0xc8: { bytes: 2, kind: 'ext' },
  0xc9: { bytes: 4, kind: 'ext' },
  0xd9: { bytes: 1, kind: 'str' },
  0xda: { bytes: 2, kind: 'str' },
  0xdb: { bytes: 4, kind: 'str' },
  0xdc: { bytes: 2, kind: 'array' },
  0xdd: { bytes: 4, kind: 'array' },
  0xde: { bytes: 2, kind: 'map' },
  0xdf: { bytes: 4, kind: 'map' },
};

/** Payload bytes of the fixed-size codes (numbers and fixext). */
const FIXED: Record<number, number> = {
  0xca: 4,
  0xcb: 8,
  0xcc: 1,
  0xcd: 2,
  0xce: 4,
  0xcf: 8,
  0xd0: 1,
  0xd1: 2,
  0xd2: 4,
  0xd3: 8,
  0xd4: 2,
  0xd5: 3,
  0xd6: 5,
  0xd7: 9,
  0xd8: 17,
};

/** True when the bytes are all ASCII (so valid UTF-8): the common case, checked without a call out. */
function asciiAt(bytes: Buffer, start: number, length: number): boolean {
  if (length > 256) return false;
  for (let i = start; i < start + length; i++) if ((bytes[i] as number) >= 0x80) return false;
  return true;
}

/**
 * Walks a MessagePack body's structure without building it: depth, entry count, UTF-8 validity
 * of every string (the decoder would replace bad bytes silently) and `__proto__` keys. Linear in
 * the number of values; string and binary payloads are skipped by length. A truncated or
 * malformed body is left for the decoder to report.
 */
export function checkMsgpackShape(body: Uint8Array, limits: BodyLimits, what: string, raise: { depth: string; entries: string }): void {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const end = bytes.length;
  const stack: Level[] = [];
  let entries = 0;
  let pos = 0;
  const path = (): PathStep[] =>
    stack.map((level) => {
      if (!level.isMap) return level.items - level.remaining - 1;
      return level.keyStart < 0 ? '?' : bytes.toString('utf8', level.keyStart, level.keyStart + level.keyLength);
    });
  while (pos < end) {
    const top = stack[stack.length - 1];
    const isKey = top !== undefined && top.isMap && (top.items - top.remaining) % 2 === 0;
    if (top !== undefined) top.remaining--;
    const code = bytes[pos++] as number;
    let kind: 'scalar' | 'bin' | 'ext' | 'str' | 'array' | 'map' = 'scalar';
    let size = 0;
    if (code <= 0x7f || code >= 0xe0 || (code >= 0xc0 && code <= 0xc3)) {
      if (code === 0xc1) return; // never used: the decoder says so
    } else if (code <= 0x8f) [kind, size] = ['map', code & 0x0f];
    else if (code <= 0x9f) [kind, size] = ['array', code & 0x0f];
    else if (code <= 0xbf) [kind, size] = ['str', code & 0x1f];
    else if (FIXED[code] !== undefined) size = FIXED[code];
    else {
      const sized = SIZED[code];
      if (sized === undefined || pos + sized.bytes > end) return;
      kind = sized.kind;
      size = sized.bytes === 1 ? (bytes[pos] as number) : sized.bytes === 2 ? bytes.readUInt16BE(pos) : bytes.readUInt32BE(pos);
      pos += sized.bytes;
      if (kind === 'ext') size += 1; // the type byte
    }
    if (kind === 'array' || kind === 'map') {
      if (stack.length >= limits.maxDepth) throw tooDeep(what, path(), limits, raise.depth);
      entries += size;
      if (entries > limits.maxEntries) throw tooMany(what, limits, raise.entries);
      const items = kind === 'map' ? size * 2 : size;
      if (items > end - pos) return; // each item takes a byte at least: truncated
      stack.push({ remaining: items, isMap: kind === 'map', items, keyStart: -1, keyLength: 0 });
    } else {
      if (pos + size > end) return;
      if (kind === 'str') {
        if (!asciiAt(bytes, pos, size) && !isUtf8(bytes.subarray(pos, pos + size))) throw notUtf8(what, isKey ? [...path().slice(0, -1), '(a key)'] : path());
        if (isKey && size === PROTO_KEY.length && bytes.toString('latin1', pos, pos + size) === PROTO_KEY) throw protoKey(what, path().slice(0, -1));
      }
      if (isKey && top !== undefined) {
        top.keyStart = kind === 'str' ? pos : -1;
        top.keyLength = size;
      }
      pos += size;
    }
    // Close every container this value completed (one just opened may be empty).
    for (let last = stack[stack.length - 1]; last !== undefined && last.remaining === 0; last = stack[stack.length - 1]) stack.pop();
    if (stack.length === 0) return;
  }
}
