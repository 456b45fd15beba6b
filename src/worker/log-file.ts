/** Appends a job's raw output to a file, slowing the producer down when the disk falls behind. */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Logger } from '../common/log.js';

export class LogFile {
  readonly #out: WriteStream;
  #failed = false;
  #paused: Readable | undefined;

  constructor(
    readonly path: string,
    private readonly log: Logger | undefined,
    private readonly fields: Record<string, unknown>,
  ) {
    this.#out = createWriteStream(path, { flags: 'a' });
    this.#out.on('error', (err) => {
      // A full or broken disk must not stop the job or its line stream; the log file just ends.
      if (!this.#failed) this.log?.warn({ ...this.fields, file: this.path, err }, 'cannot write job log file');
      this.#failed = true;
      this.#resume();
    });
  }

  write(chunk: Buffer, source: Readable): void {
    if (this.#failed) return;
    if (!this.#out.write(chunk) && this.#paused === undefined) {
      this.#paused = source;
      source.pause();
      this.#out.once('drain', () => this.#resume());
    }
  }

  /** Resolves once everything written is on disk and the file is closed (never rejects). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#out.closed) {
        resolve();
        return;
      }
      this.#out.once('close', () => resolve());
      if (!this.#failed) this.#out.end();
    });
  }

  #resume(): void {
    const source = this.#paused;
    this.#paused = undefined;
    source?.resume();
  }
}
