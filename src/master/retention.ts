import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from '../common/log.js';
import type { Store } from '../store/store.js';

export { DEFAULT_RETENTION_MS } from '../common/retention.js';

/** A batch is sized to take about this long; it is halved when one takes longer. */
const TARGET_BATCH_MS = 2;
const MIN_ROWS = 4;
const MAX_ROWS = 2_000;

export interface RetentionSummary {
  readonly jobs: number;
  readonly logChunks: number;
  readonly dags: number;
  readonly batches: number;
  /** The longest batch of the pass, in ms: the longest the loop was held by it. */
  readonly batchMsMax: number;
  readonly tookMs: number;
}

/**
 * Deletes finished history older than `--retention` (store/pruner.ts), on a period and on
 * demand (`titan gc`). A pass is many small transactions with the loop free between them; the
 * batch size adapts so a batch takes about 2 ms, and every batch's duration is kept for /metrics.
 */
export class Retention {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<RetentionSummary> | null = null;
  #rows = 16;
  /** Every batch ever run: how many, the longest, and the durations of the last 256. */
  batches = 0;
  batchMsMax = 0;
  readonly recentBatchMs: number[] = [];
  readonly deleted = { jobs: 0, logChunks: 0, dags: 0 };

  constructor(
    private readonly store: Store,
    readonly retentionMs: number,
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => void this.pass().catch((err: unknown) => this.log.error({ err }, 'retention pass failed')), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Runs a pass now, or joins the one running. */
  pass(): Promise<RetentionSummary> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #pass(): Promise<RetentionSummary> {
    const started = performance.now();
    const before = this.clock() - this.retentionMs;
    const total = { jobs: 0, logChunks: 0, dags: 0, batches: 0, batchMsMax: 0 };
    for (;;) {
      const t0 = performance.now();
      const batch = this.store.pruneBatch(before, this.#rows);
      const ms = performance.now() - t0;
      this.#record(ms);
      total.batches++;
      total.batchMsMax = Math.max(total.batchMsMax, ms);
      total.jobs += batch.jobs;
      total.logChunks += batch.logChunks;
      total.dags += batch.dags;
      if (batch.jobs + batch.logChunks + batch.dags === 0) break;
      this.#rows = ms > TARGET_BATCH_MS ? Math.max(MIN_ROWS, Math.floor(this.#rows / 2)) : Math.min(MAX_ROWS, Math.ceil(this.#rows * 1.25));
      await nextTurn(); // the loop serves everything else between batches
    }
    this.deleted.jobs += total.jobs;
    this.deleted.logChunks += total.logChunks;
    this.deleted.dags += total.dags;
    const summary = { ...total, tookMs: performance.now() - started };
    if (total.jobs + total.dags > 0) this.log.info({ event: 'retention', ...summary }, 'deleted finished history past the retention');
    return summary;
  }

  #record(ms: number): void {
    this.batches++;
    this.batchMsMax = Math.max(this.batchMsMax, ms);
    this.recentBatchMs.push(ms);
    if (this.recentBatchMs.length > 256) this.recentBatchMs.shift();
  }
}
