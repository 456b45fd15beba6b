import type { Database, Statement } from 'better-sqlite3';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { LogLine, StoredLogLine } from './store.js';

/** The most line text one chunk row holds (a single longer line gets a row of its own). */
export const CHUNK_BYTES = 64 * 1024;

interface ChunkRow {
  first_seq: number;
  last_seq: number;
  job_id: string;
  attempt: number;
  stream: number;
  at: number;
  bytes: number;
  body: string;
}

const STREAMS = ['stdout', 'stderr'] as const;

/**
 * A job's output as rows of consecutive lines (one attempt, one stream, up to CHUNK_BYTES of text)
 * instead of one row per line: a chatty job costs a row per 64 KiB, not per line. Each line still
 * has its own seq (first_seq + its index in the chunk), so readers page and resume by line as
 * before. A chunk keeps one `at`, the time its first line was read: lines of one batch from the
 * worker are at most its flush delay (50 ms) apart.
 */
export class LogChunkTable {
  readonly #insert: Statement<[ChunkRow]>;
  readonly #select: Statement<[string, number]>;
  readonly #bytesOf: Statement<[string], number>;
  readonly #append: (lines: readonly LogLine[]) => void;
  /** The seq the next line gets; never handed out twice, even after chunks are deleted. */
  #nextSeq: number;

  constructor(db: Database) {
    this.#insert = db.prepare(
      `INSERT INTO job_log_chunks (first_seq, last_seq, job_id, attempt, stream, at, bytes, body)
       VALUES (@first_seq, @last_seq, @job_id, @attempt, @stream, @at, @bytes, @body)`,
    );
    // By last_seq, the index's order (chunks of a job never overlap, so it is first_seq's order
    // too): rows come lazily from the index, where sorting by first_seq read every later chunk
    // of the job for each page.
    this.#select = db.prepare(
      `SELECT first_seq, last_seq, job_id, attempt, stream, at, bytes, body FROM job_log_chunks
       WHERE job_id = ? AND last_seq > ? ORDER BY last_seq`,
    );
    this.#bytesOf = db.prepare<[string], number>('SELECT COALESCE(SUM(bytes), 0) FROM job_log_chunks WHERE job_id = ?').pluck();
    const highest = db.prepare<[], number>('SELECT COALESCE(MAX(last_seq), 0) FROM job_log_chunks').pluck().get() ?? 0;
    const floor = Number(db.prepare<[], string>("SELECT value FROM meta WHERE key = 'log_seq_floor'").pluck().get() ?? '0');
    this.#nextSeq = Math.max(highest, floor) + 1;
    this.#append = db.transaction((lines: readonly LogLine[]) => {
      for (const row of this.#chunk(lines)) this.#insert.run(row);
    });
  }

  /** The highest seq handed out so far; a pruner records it so seqs stay unique after deletes. */
  get highestSeq(): number {
    return this.#nextSeq - 1;
  }

  /** Effects: the lines are appended in one transaction, in order, each given the next seq. */
  append(lines: readonly LogLine[]): void {
    if (lines.length === 0) return;
    const next = this.#nextSeq;
    try {
      this.#append(lines);
    } catch (err) {
      this.#nextSeq = next; // nothing of it was written
      throw err;
    }
  }

  /** Lines of one job with seq > afterSeq, oldest first, at most limit lines and (after the first) maxChars of text. */
  read(jobId: string, afterSeq: number, limit: number, maxChars = Infinity): StoredLogLine[] {
    const out: StoredLogLine[] = [];
    if (limit <= 0) return out;
    let chars = 0;
    for (const row of this.#select.iterate(jobId, afterSeq) as IterableIterator<ChunkRow>) {
      const texts = parseBody(row);
      const stream = STREAMS[row.stream] ?? 'stdout';
      for (let i = Math.max(0, afterSeq - row.first_seq + 1); i < texts.length; i++) {
        const line = texts[i] as string;
        out.push({ seq: row.first_seq + i, jobId, attempt: row.attempt, stream, at: row.at, line });
        chars += line.length;
        if (out.length >= limit || chars >= maxChars) return out;
      }
    }
    return out;
  }

  /** Bytes of line text stored for a job (each line counts its UTF-8 length plus a newline). */
  bytesOf(jobId: string): number {
    return this.#bytesOf.get(jobId) ?? 0;
  }

  /** Cuts a batch into rows: a new row whenever the attempt or stream changes or the row is full. */
  *#chunk(lines: readonly LogLine[]): Generator<ChunkRow> {
    let open: { first: LogLine; texts: string[]; bytes: number } | undefined;
    const close = (): ChunkRow | undefined => {
      if (open === undefined) return undefined;
      const { first, texts, bytes } = open;
      open = undefined;
      const firstSeq = this.#nextSeq;
      this.#nextSeq += texts.length;
      return {
        first_seq: firstSeq,
        last_seq: firstSeq + texts.length - 1,
        job_id: first.jobId,
        attempt: first.attempt,
        stream: first.stream === 'stderr' ? 1 : 0,
        at: first.at,
        bytes,
        body: JSON.stringify(texts),
      };
    };
    for (const line of lines) {
      const size = lineBytes(line.line);
      const fits =
        open !== undefined &&
        open.first.jobId === line.jobId &&
        open.first.attempt === line.attempt &&
        open.first.stream === line.stream &&
        open.bytes + size <= CHUNK_BYTES;
      if (!fits) {
        const row = close();
        if (row !== undefined) yield row;
        open = { first: line, texts: [], bytes: 0 };
      }
      open!.texts.push(line.line);
      open!.bytes += size;
    }
    const row = close();
    if (row !== undefined) yield row;
  }
}

/** What a line costs against a job's log cap: its UTF-8 bytes and the newline that ended it. */
export function lineBytes(text: string): number {
  return Buffer.byteLength(text, 'utf8') + 1;
}

function parseBody(row: ChunkRow): string[] {
  const texts: unknown = JSON.parse(row.body);
  if (!Array.isArray(texts) || texts.length !== row.last_seq - row.first_seq + 1) {
    throw new TitanError(
      ErrorCode.INTERNAL,
      `store is corrupt: the log chunk at seq ${row.first_seq} of job "${row.job_id}" does not hold ${row.last_seq - row.first_seq + 1} lines`,
    );
  }
  return texts as string[];
}
