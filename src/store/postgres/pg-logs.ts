import { ErrorCode, TitanError } from '../../common/errors.js';
import { CHUNK_BYTES, lineBytes } from '../log-chunks.js';
import type { LogLine, StoredLogLine } from '../store.js';
import type { Queryable } from './pg-jobs.js';

interface Chunk {
  readonly first: LogLine;
  readonly texts: string[];
  bytes: number;
}

interface ChunkRow {
  first_seq: number;
  last_seq: number;
  attempt: number;
  stream: number;
  at: number;
  body: string;
}

const STREAMS = ['stdout', 'stderr'] as const;

/** The same rows as SQLite's log-chunks.ts: a new chunk whenever the job, attempt or stream changes or 64 KiB is full. */
function chunksOf(lines: readonly LogLine[]): Chunk[] {
  const chunks: Chunk[] = [];
  let open: Chunk | undefined;
  for (const line of lines) {
    const size = lineBytes(line.line);
    const fits =
      open !== undefined &&
      open.first.jobId === line.jobId &&
      open.first.attempt === line.attempt &&
      open.first.stream === line.stream &&
      open.bytes + size <= CHUNK_BYTES;
    if (!fits) {
      open = { first: line, texts: [], bytes: 0 };
      chunks.push(open);
    }
    open!.texts.push(line.line);
    open!.bytes += size;
  }
  return chunks;
}

/**
 * Appends inside the caller's transaction. The seqs come from the one-row `log_seq` counter moved
 * forward by the batch's line count: consecutive within the batch, never handed out twice (the
 * counter never goes back, whatever retention deletes), and rolled back with the transaction.
 */
export async function appendLogLines(client: Queryable, lines: readonly LogLine[]): Promise<void> {
  if (lines.length === 0) return;
  const { rows } = await client.query<{ before: number }>('UPDATE log_seq SET highest = highest + $1 RETURNING highest - $1 AS before', [lines.length]);
  let next = (rows[0]?.before ?? 0) + 1;
  const chunks = chunksOf(lines).map((c) => {
    const firstSeq = next;
    next += c.texts.length;
    return { c, firstSeq };
  });
  await client.query(
    `INSERT INTO job_log_chunks (first_seq, last_seq, job_id, attempt, stream, at, bytes, body)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::smallint[], $6::bigint[], $7::int[], $8::text[])`,
    [
      chunks.map((x) => x.firstSeq),
      chunks.map((x) => x.firstSeq + x.c.texts.length - 1),
      chunks.map((x) => x.c.first.jobId),
      chunks.map((x) => x.c.first.attempt),
      chunks.map((x) => (x.c.first.stream === 'stderr' ? 1 : 0)),
      chunks.map((x) => x.c.first.at),
      chunks.map((x) => x.c.bytes),
      chunks.map((x) => JSON.stringify(x.c.texts)),
    ],
  );
}

/** Lines of one job with seq > afterSeq, oldest first, at most limit lines and (after the first) maxChars of text. */
export async function readLogLines(db: Queryable, jobId: string, afterSeq: number, limit: number, maxChars = Infinity): Promise<StoredLogLine[]> {
  const out: StoredLogLine[] = [];
  if (limit <= 0) return out;
  // Every chunk holds at least one line, so `limit` chunks hold every line the page can take.
  const { rows } = await db.query<ChunkRow>(
    'SELECT first_seq, last_seq, attempt, stream, at, body FROM job_log_chunks WHERE job_id = $1 AND last_seq > $2 ORDER BY last_seq LIMIT $3',
    [jobId, afterSeq, limit],
  );
  let chars = 0;
  for (const row of rows) {
    const texts = parseBody(row, jobId);
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

function parseBody(row: ChunkRow, jobId: string): string[] {
  const texts: unknown = JSON.parse(row.body);
  if (!Array.isArray(texts) || texts.length !== row.last_seq - row.first_seq + 1) {
    throw new TitanError(
      ErrorCode.INTERNAL,
      `store is corrupt: the log chunk at seq ${row.first_seq} of job "${jobId}" does not hold ${row.last_seq - row.first_seq + 1} lines`,
    );
  }
  return texts as string[];
}
