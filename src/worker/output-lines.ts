/** Cuts a job's raw output into lines and hands them on in batches, for shipping to the master. */
import { StringDecoder } from 'node:string_decoder';

export type OutputStream = 'stdout' | 'stderr';

export interface OutputLine {
  readonly stream: OutputStream;
  /** Milliseconds since the epoch when the worker read the chunk holding the line's end. */
  readonly at: number;
  readonly line: string;
}

export const TRUNCATED_MARK = ' …[line truncated]';

/**
 * Splits one stream into lines: partial lines wait for the next chunk, a multi-byte character cut
 * between chunks is decoded whole, CRLF loses its CR, and a line longer than `maxChars` is cut at
 * `maxChars` (with TRUNCATED_MARK) and the rest of it dropped, so a runaway line cannot fill memory.
 * The raw log file keeps everything; this only bounds what travels as a line.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';
  #dropping = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly maxChars: number,
    private readonly emit: (line: OutputLine) => void,
  ) {}

  push(chunk: Buffer, at: number): void {
    const text = this.#decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) {
        this.#append(text.slice(start), at);
        return;
      }
      this.#append(text.slice(start, nl), at);
      this.#endLine(at);
      start = nl + 1;
    }
  }

  /** The stream closed: a last line without a newline is still a line. */
  end(at: number): void {
    this.#append(this.#decoder.end(), at);
    if (this.#partial !== '') this.#endLine(at);
    this.#dropping = false;
  }

  #append(text: string, at: number): void {
    if (this.#dropping || text === '') return;
    this.#partial += text;
    // +1 leaves room for the CR of a CRLF that may follow a line of exactly maxChars.
    if (this.#partial.length > this.maxChars + 1) {
      this.emit({ stream: this.stream, at, line: this.#partial.slice(0, this.maxChars) + TRUNCATED_MARK });
      this.#partial = '';
      this.#dropping = true;
    }
  }

  #endLine(at: number): void {
    if (this.#dropping) {
      this.#dropping = false;
      return;
    }
    let line = this.#partial.endsWith('\r') ? this.#partial.slice(0, -1) : this.#partial;
    this.#partial = '';
    if (line.length > this.maxChars) line = line.slice(0, this.maxChars) + TRUNCATED_MARK;
    this.emit({ stream: this.stream, at, line });
  }
}

/**
 * Stops a job's lines at `maxBytes` (each counts its UTF-8 bytes and a newline): the lines that
 * fit, then one marker line where the output was cut, then nothing.
 */
export class LineQuota {
  #used = 0;
  #cut = false;

  constructor(
    private readonly maxBytes: number,
    private readonly marker: string,
  ) {}

  admit(lines: OutputLine[]): OutputLine[] {
    if (this.#cut) return [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as OutputLine;
      this.#used += Buffer.byteLength(line.line, 'utf8') + 1;
      if (this.#used > this.maxBytes) {
        this.#cut = true;
        return [...lines.slice(0, i), { stream: 'stderr', at: line.at, line: this.marker }];
      }
    }
    return lines;
  }
}

/**
 * Gathers lines into batches: one is delivered when it reaches `maxLines`, or `delayMs` after its
 * first line, whichever comes first; so a chatty job sends few large messages and a quiet one's
 * lines still arrive promptly.
 */
export class LineBatcher {
  #batch: OutputLine[] = [];
  #chars = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly maxLines: number,
    private readonly delayMs: number,
    private readonly deliver: (lines: OutputLine[]) => void,
    /** A batch is also delivered once its lines hold this many characters (one store chunk's worth). */
    private readonly maxChars = 64 * 1024,
  ) {}

  add(line: OutputLine): void {
    this.#batch.push(line);
    this.#chars += line.line.length;
    if (this.#batch.length >= this.maxLines || this.#chars >= this.maxChars) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#chars = 0;
    this.deliver(batch);
  }
}
