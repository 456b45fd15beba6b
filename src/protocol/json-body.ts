import { ErrorCode, TitanError } from '../common/errors.js';
import { notUtf8, protoKey, PROTO_KEY, tooDeep, tooMany, type BodyLimits, type PathStep } from './body-limits.js';

const strict = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_MAP = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_MAP = 0x7d;
const COMMA = 0x2c;

export interface JsonBodyOptions {
  /** Names the body in errors: "POST /api/v1/jobs body", "frame body (opcode 7)". */
  readonly what: string;
  /** The flags that raise each limit, named in the errors. */
  readonly raise: { readonly depth: string; readonly entries: string };
  /** The error for text that is not JSON at all; a generic one when absent. */
  readonly invalid?: (reason: string) => TitanError;
}

/**
 * Parses a UTF-8 JSON body within limits: refuses invalid UTF-8 (naming the field, nothing is
 * replaced), nesting deeper than `maxDepth`, more than `maxEntries` items and entries, and a
 * `__proto__` key, each before or instead of handing the caller a half-true value. The depth and
 * entry scan is one pass over the bytes, done before JSON.parse allocates anything.
 */
export function parseJsonBody(bytes: Uint8Array, limits: BodyLimits, options: JsonBodyOptions): unknown {
  const { what } = options;
  checkJsonShape(bytes, limits, options);
  let text: string;
  let badUtf8 = false;
  try {
    text = strict.decode(bytes);
  } catch {
    badUtf8 = true;
    text = lenient.decode(bytes);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (badUtf8) throw notUtf8(what, []);
    const reason = err instanceof Error ? err.message : String(err);
    throw options.invalid?.(reason) ?? new TitanError(ErrorCode.BAD_BODY, `${what} is not valid JSON: ${reason}; send one JSON value`);
  }
  walk(value, [], (path, key, str) => {
    if (key === PROTO_KEY) throw protoKey(what, [...path]);
    if (badUtf8 && str !== undefined && str.includes('\ufffd')) throw notUtf8(what, key !== undefined ? [...path, '(a key)'] : [...path]);
  });
  // The replacement character was in the original bytes somewhere walk() did not look: say where.
  if (badUtf8) throw notUtf8(what, []);
  return value;
}

/** One pass: string-aware bracket depth and a count of items (commas and containers). */
function checkJsonShape(bytes: Uint8Array, limits: BodyLimits, options: JsonBodyOptions): void {
  let depth = 0;
  let entries = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (b === QUOTE) inString = true;
    else if (b === OPEN_ARRAY || b === OPEN_MAP) {
      if (++depth > limits.maxDepth) throw tooDeep(options.what, [`(byte ${i})`], limits, options.raise.depth);
      if (++entries > limits.maxEntries) throw tooMany(options.what, limits, options.raise.entries);
    } else if (b === CLOSE_ARRAY || b === CLOSE_MAP) depth--;
    else if (b === COMMA && ++entries > limits.maxEntries) throw tooMany(options.what, limits, options.raise.entries);
  }
}

/** Visits every string and key of a parsed JSON value, depth first; `path` is reused, copy it to keep it. */
function walk(value: unknown, path: PathStep[], visit: (path: PathStep[], key: string | undefined, str: string | undefined) => void): void {
  if (typeof value === 'string') visit(path, undefined, value);
  else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      walk(value[i], path, visit);
      path.pop();
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) {
      visit(path, key, key);
      path.push(key);
      walk((value as Record<string, unknown>)[key], path, visit);
      path.pop();
    }
  }
}
