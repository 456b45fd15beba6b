import { KeyedSerial } from '../common/keyed-serial.js';
import { lineBytes } from '../store/log-chunks.js';
import { logCutMarker } from '../common/log-cap.js';
import type { AsyncStore } from '../store/async-store.js';
import type { LogLine } from '../store/store.js';

/** Jobs whose stored size is remembered; past it the map starts over (sizes are re-read from the store). */
const REMEMBERED_JOBS = 4_096;

/**
 * Stores what workers send of a job's output, up to `maxBytes` per job (every attempt together):
 * the lines that fit, then one marker line where the output was cut, then nothing. A worker cuts
 * too (it stops sending), so this is what holds against a worker with a larger cap, or an older one.
 */
export class LogIntake {
  readonly #stored = new Map<string, number>();
  /** A job's batches are stored one after another, so its lines keep their order and its count stays exact. */
  readonly #serial = new KeyedSerial();

  constructor(
    private readonly store: Pick<AsyncStore, 'logBytes' | 'appendLogs'>,
    readonly maxBytes: number,
  ) {}

  /** Stores the batch (or what of it fits) after the job's earlier batches; resolves false when nothing was stored. */
  append(lines: readonly LogLine[]): Promise<boolean> {
    const first = lines[0];
    if (first === undefined) return Promise.resolve(false);
    return this.#serial.run(first.jobId, () => this.#append(first.jobId, lines));
  }

  /** Settles once the job's batches given so far are stored (or refused); undefined when none is pending. */
  pending(jobId: string): Promise<void> | undefined {
    return this.#serial.pending(jobId);
  }

  async #append(jobId: string, lines: readonly LogLine[]): Promise<boolean> {
    let used = this.#stored.get(jobId);
    if (used === undefined) {
      if (this.#stored.size >= REMEMBERED_JOBS) this.#stored.clear();
      used = await this.store.logBytes(jobId);
    }
    if (used > this.maxBytes) return false; // cut already: the marker is the last line
    let fits = 0;
    let total = used;
    for (const line of lines) {
      const size = lineBytes(line.line);
      if (total + size > this.maxBytes) break;
      total += size;
      fits++;
    }
    let kept: readonly LogLine[] = lines;
    if (fits < lines.length) {
      const cutAt = lines[fits] as LogLine;
      const marker = logCutMarker(this.maxBytes);
      kept = [...lines.slice(0, fits), { jobId, attempt: cutAt.attempt, stream: 'stderr', at: cutAt.at, line: marker }];
      // Past the cap from here on, whatever the marker's own size. (A master restarted mid-job
      // re-reads the stored size and may take a few more lines into the room left under the cap:
      // the store still never holds more than the cap and a marker per restart.)
      total = Math.max(total + lineBytes(marker), this.maxBytes + 1);
    }
    await this.store.appendLogs(kept);
    this.#stored.set(jobId, total);
    return true;
  }
}
