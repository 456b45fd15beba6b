import { ErrorCode, TitanError } from '../common/errors.js';
import { DEFAULT_MAX_FRAME, HEADER_SIZE, MAX_FRAME_LIMIT, PROTOCOL_VERSION, type Frame } from './frame.js';

const EMPTY = Buffer.alloc(0);

export interface FrameReaderOptions {
  /** Largest body accepted, in bytes (default 16 MiB). */
  maxFrameSize?: number;
}

/**
 * Cuts a byte stream into frames. Frame bodies are views into the pushed chunks when a frame
 * lies inside one chunk, so callers must not reuse a chunk after pushing it.
 */
const RAISE_HINT = "split the payload or raise the master's --max-frame";

export class FrameReader {
  #maxFrameSize: number;
  #hint = RAISE_HINT;
  // Unconsumed bytes: chunks[0] starting at headOffset, then the other chunks whole.
  private chunks: Buffer[] = [];
  private headOffset = 0;
  private buffered = 0;
  private failure: TitanError | undefined;
  private readonly header = Buffer.alloc(HEADER_SIZE);

  constructor(options: FrameReaderOptions = {}) {
    const max = options.maxFrameSize ?? DEFAULT_MAX_FRAME;
    checkMax(max);
    this.#maxFrameSize = max;
  }

  get maxFrameSize(): number {
    return this.#maxFrameSize;
  }

  /**
   * Changes the largest body accepted from the next header on (a connection accepts only small
   * frames until it authenticates); `hint` tells the sender what to do about a refused one.
   */
  limit(max: number, hint = RAISE_HINT): void {
    checkMax(max);
    this.#maxFrameSize = max;
    this.#hint = hint;
  }

  /** Bytes held waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds bytes and returns every frame they complete. Throws (and stays failed) on a bad header. */
  push(chunk: Buffer): Frame[] {
    if (this.failure) throw this.failure;
    const frames: Frame[] = [];
    if (chunk.length === 0) return frames;
    try {
      if (this.buffered === 0) {
        this.cutFromChunk(chunk, frames);
      } else {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
        this.cutFromChunks(frames);
      }
    } catch (err) {
      if (err instanceof TitanError) {
        this.failure = err;
        this.chunks = [];
        this.buffered = 0;
        this.headOffset = 0;
      }
      throw err;
    }
    return frames;
  }

  /** Fast path: nothing pending, so frames are cut straight out of the new chunk. */
  private cutFromChunk(chunk: Buffer, frames: Frame[]): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      const version = chunk[pos] as number;
      this.checkVersion(version);
      if (end - pos < HEADER_SIZE) break;
      const length = chunk.readUInt32BE(pos + 4);
      this.checkLength(length);
      if (end - pos - HEADER_SIZE < length) break;
      const bodyStart = pos + HEADER_SIZE;
      frames.push({
        version,
        opcode: chunk[pos + 1] as number,
        flags: chunk[pos + 2] as number,
        body: chunk.subarray(bodyStart, bodyStart + length),
      });
      pos = bodyStart + length;
    }
    if (pos < end) {
      this.chunks.push(pos === 0 ? chunk : chunk.subarray(pos));
      this.buffered = end - pos;
      this.headOffset = 0;
    }
  }

  private cutFromChunks(frames: Frame[]): void {
    // Each pass consumes one frame, so the loop is bounded by the buffered byte count.
    while (this.buffered > 0) {
      const first = this.chunks[0] as Buffer;
      this.checkVersion(first[this.headOffset] as number);
      if (this.buffered < HEADER_SIZE) return;
      const header = this.peekHeader();
      const length = header.readUInt32BE(4);
      this.checkLength(length);
      if (this.buffered - HEADER_SIZE < length) return;
      const version = header[0] as number;
      const opcode = header[1] as number;
      const flags = header[2] as number;
      this.consume(HEADER_SIZE);
      frames.push({ version, opcode, flags, body: length === 0 ? EMPTY : this.consume(length) });
      if (this.chunks.length === 1) {
        // The rest sits in one chunk: switch to the zero-copy path.
        const rest = (this.chunks[0] as Buffer).subarray(this.headOffset);
        this.chunks = [];
        this.buffered = 0;
        this.headOffset = 0;
        this.cutFromChunk(rest, frames);
        return;
      }
    }
  }

  private peekHeader(): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length - this.headOffset >= HEADER_SIZE) {
      return first.subarray(this.headOffset, this.headOffset + HEADER_SIZE);
    }
    let filled = 0;
    let offset = this.headOffset;
    for (const chunk of this.chunks) {
      const n = Math.min(chunk.length - offset, HEADER_SIZE - filled);
      chunk.copy(this.header, filled, offset, offset + n);
      filled += n;
      offset = 0;
      if (filled === HEADER_SIZE) break;
    }
    return this.header;
  }

  /** Removes `n` buffered bytes, returning them (a view if they sit in one chunk, else a copy). */
  private consume(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    const available = first.length - this.headOffset;
    let out: Buffer;
    if (available >= n) {
      out = first.subarray(this.headOffset, this.headOffset + n);
      this.headOffset += n;
      if (this.headOffset === first.length) {
        this.chunks.shift();
        this.headOffset = 0;
      }
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      let drop = 0;
      for (const chunk of this.chunks) {
        const start = drop === 0 ? this.headOffset : 0;
        const take = Math.min(chunk.length - start, n - filled);
        chunk.copy(out, filled, start, start + take);
        filled += take;
        if (start + take === chunk.length) {
          drop++;
          this.headOffset = 0;
        } else {
          this.headOffset = start + take;
        }
        if (filled === n) break;
      }
      this.chunks.splice(0, drop);
    }
    this.buffered -= n;
    return out;
  }

  private checkVersion(version: number): void {
    if (version !== PROTOCOL_VERSION) {
      throw new TitanError(
        ErrorCode.UNKNOWN_VERSION,
        `frame has protocol version ${version}, this peer speaks version ${PROTOCOL_VERSION}; ` +
          `connect with a TITAN_PROTO v${PROTOCOL_VERSION} client (not HTTP or another protocol) or upgrade the older side`,
      );
    }
  }

  private checkLength(length: number): void {
    if (length > this.#maxFrameSize) {
      throw new TitanError(ErrorCode.FRAME_TOO_LARGE, `frame declares ${length} bytes, over the ${this.#maxFrameSize}-byte maximum; ${this.#hint}`);
    }
  }
}

function checkMax(max: number): void {
  if (!Number.isInteger(max) || max < 0 || max > MAX_FRAME_LIMIT) {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `maxFrameSize must be an integer 0..${MAX_FRAME_LIMIT}, got ${max}`);
  }
}
