/**
 * Appends a job's raw output to a file, slowing the producer down when the disk falls behind.
 * The file is opened on the first byte: most short jobs print nothing to stderr, and an open and
 * close per stream is a measurable part of a /bin/true job's cost.
 */
import { constants, createWriteStream, openSync, type WriteStream } from 'node:fs';
import type { Logger } from '../common/log.js';
import { logCutMarker } from '../common/log-cap.js';
import type { Valve } from './output-flow.js';

export class LogFile {
  #out: WriteStream | undefined;
  #failed = false;
  #paused: Valve | undefined;
  #written = 0;

  constructor(
    readonly path: string,
    private readonly log: Logger | undefined,
    private readonly fields: Record<string, unknown>,
    /** Past this many bytes the file gets a marker line and nothing more. */
    private readonly maxBytes = Infinity,
  ) {}

  write(chunk: Buffer, valve: Valve): void {
    if (this.#failed || this.#written > this.maxBytes) return;
    const out = this.#out ?? this.#open();
    if (out === undefined) return;
    const room = this.maxBytes - this.#written;
    this.#written += chunk.length;
    const data = chunk.length <= room ? chunk : Buffer.concat([chunk.subarray(0, room), Buffer.from(`\n${logCutMarker(this.maxBytes)}\n`)]);
    if (!out.write(data) && this.#paused === undefined) {
      this.#paused = valve;
      valve.hold('log file');
      out.once('drain', () => this.#resume());
    }
  }

  #open(): WriteStream | undefined {
    let fd: number;
    try {
      // No link followed: the folder belongs to the job's user, who could point the name at a file of the worker's.
      fd = openSync(this.path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      this.log?.warn({ ...this.fields, file: this.path, err }, 'cannot open job log file');
      this.#failed = true;
      return undefined;
    }
    const out = createWriteStream(this.path, { fd });
    out.on('error', (err) => {
      // A full or broken disk must not stop the job or its line stream; the log file just ends.
      if (!this.#failed) this.log?.warn({ ...this.fields, file: this.path, err }, 'cannot write job log file');
      this.#failed = true;
      this.#resume();
    });
    this.#out = out;
    return out;
  }

  /** Resolves once everything written is on disk and the file is closed (never rejects). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      const out = this.#out;
      if (out === undefined || out.closed) {
        resolve();
        return;
      }
      out.once('close', () => resolve());
      if (!this.#failed) out.end();
    });
  }

  #resume(): void {
    const valve = this.#paused;
    this.#paused = undefined;
    valve?.release('log file');
  }
}
