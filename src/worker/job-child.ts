/** What the executor needs of a job's process, spawned or forked by a warm interpreter, and how it reads its output. */
import type { Readable } from 'node:stream';
import type { LogFile } from './log-file.js';
import type { LineSplitter } from './output-lines.js';

export interface JobChild {
  readonly pid?: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Set on a warm child whose server died: its exit status is unknown and the job was stopped. */
  readonly lostReason?: string | undefined;
  once(event: 'exit' | 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
}

/** Every chunk goes to the raw log file and to the line splitter, in order. */
export function pump(source: Readable | null, file: LogFile, lines: LineSplitter): void {
  source?.on('data', (chunk: Buffer) => {
    file.write(chunk, source);
    lines.push(chunk, Date.now());
  });
}
