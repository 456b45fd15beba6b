import { describeBytes } from '../common/log-cap.js';
import type { OutputLine } from './output-lines.js';

/** What one attempt keeps of the output it printed while its worker had no master: 1 MiB of line text. */
export const BACKLOG_MAX_BYTES = 1024 * 1024;
/** Lines per message when a backlog is sent: well under the master's body limits. */
const LINES_PER_SEND = 1000;

/**
 * Lines a job printed while its worker had no master (a failover, a master restart), kept to be
 * sent to the master it registers with next, in order and before anything printed after. Past
 * `maxBytes` lines are counted, not kept, and a line saying how many stands in for them. The job's
 * log file in its workspace always has everything.
 */
export class OutputBacklog {
  #lines: OutputLine[] = [];
  #bytes = 0;
  #dropped = 0;

  constructor(private readonly maxBytes = BACKLOG_MAX_BYTES) {}

  get empty(): boolean {
    return this.#lines.length === 0 && this.#dropped === 0;
  }

  keep(lines: readonly OutputLine[]): void {
    for (const line of lines) {
      if (this.#dropped === 0 && this.#bytes + line.line.length <= this.maxBytes) {
        this.#lines.push(line);
        this.#bytes += line.line.length;
      } else this.#dropped++;
    }
  }

  /** Empties the backlog into batches to send, the note of what was dropped last. */
  take(): OutputLine[][] {
    const lines = this.#lines;
    if (this.#dropped > 0) {
      const last = lines.at(-1);
      lines.push({
        stream: 'stderr',
        at: last?.at ?? Date.now(),
        line: `[titan: ${this.#dropped} more lines were printed while the worker had no master; past ${describeBytes(this.maxBytes)} they were not kept for it (the job's log file on the worker has them)]`,
      });
    }
    this.#lines = [];
    this.#bytes = 0;
    this.#dropped = 0;
    const batches: OutputLine[][] = [];
    for (let i = 0; i < lines.length; i += LINES_PER_SEND) batches.push(lines.slice(i, i + LINES_PER_SEND));
    return batches;
  }
}
