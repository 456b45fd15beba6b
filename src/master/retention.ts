import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from '../common/log.js';
import type { AsyncStore } from '../store/async-store.js';
import type { ArtifactBytes } from '../store/artifact-bytes.js';
import type { PruneBatch } from '../store/pruner.js';

export { DEFAULT_RETENTION_MS } from '../common/retention.js';

/**
 * A batch is sized to take about this long; it is halved when one takes longer. A batch must hold
 * the loop at most 5 ms, and in a busy master a scavenge (1-17 ms, most over 5, with --trace-gc in the
 * soak) or a descheduled moment can land inside one: its own work is kept well under that.
 */
const TARGET_BATCH_MS = 1;
const MIN_BATCH = 4;
const MAX_BATCH = 2_000;
/** Without jobs deleted, the artifact folder is still swept this often (for uploads nothing ever named, keys moved on). */
const ARTIFACT_SWEEP_EVERY_MS = 3_600_000;

export interface RetentionSummary {
  readonly jobs: number;
  readonly logChunks: number;
  readonly dags: number;
  /** Artifact files deleted (nothing names them any more), and their bytes. */
  readonly artifacts: number;
  readonly artifactBytes: number;
  readonly batches: number;
  /** The longest batch of the pass, in ms: the longest the loop was held by it. */
  readonly batchMsMax: number;
  readonly tookMs: number;
}

type Totals = { -readonly [K in keyof Omit<RetentionSummary, 'tookMs'>]: number };

/** The next batch size: halved after a batch over the target, grown by a quarter after one under it. */
function nextBatchSize(size: number, ms: number): number {
  return ms > TARGET_BATCH_MS ? Math.max(MIN_BATCH, Math.floor(size / 2)) : Math.min(MAX_BATCH, Math.ceil(size * 1.25));
}

/**
 * Deletes finished history older than `--retention` (store/pruner.ts), then the artifact files
 * nothing names any more, on a period and on demand (`titan gc`). A pass is many small batches
 * with the loop free between them; the batch size adapts so a batch takes about 1 ms, and every
 * batch's duration is kept for /metrics.
 */
export class Retention {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<RetentionSummary> | null = null;
  #rows = 16;
  #files = 16;
  #artifactsSweptAt: number | null = null;
  /** Every batch ever run: how many, the longest, and the durations of the last 256. */
  batches = 0;
  batchMsMax = 0;
  readonly recentBatchMs: number[] = [];
  readonly deleted = { jobs: 0, logChunks: 0, dags: 0, artifacts: 0 };
  artifactBytesDeleted = 0;

  constructor(
    private readonly store: Pick<AsyncStore, 'pruneBatch' | 'holdOffCheckpoints' | 'artifactInUse'>,
    private readonly artifacts: ArtifactBytes | null,
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
    const total: Totals = { jobs: 0, logChunks: 0, dags: 0, artifacts: 0, artifactBytes: 0, batches: 0, batchMsMax: 0 };
    for (;;) {
      // Waiting for a checkpoint that holds the writer happens here, with the loop free; the
      // batch's own time starts once it has the writer to itself.
      const release = await this.store.holdOffCheckpoints();
      const t0 = performance.now();
      let batch: PruneBatch;
      try {
        batch = await this.store.pruneBatch(before, this.#rows);
      } finally {
        release();
      }
      const ms = this.#record(performance.now() - t0, total);
      total.jobs += batch.jobs;
      total.logChunks += batch.logChunks;
      total.dags += batch.dags;
      if (batch.jobs + batch.logChunks + batch.dags === 0) break;
      this.#rows = nextBatchSize(this.#rows, ms);
      await nextTurn(); // the loop serves everything else between batches
    }
    if (this.#artifactSweepDue(total.jobs)) await this.#sweepArtifacts(before, total);
    this.deleted.jobs += total.jobs;
    this.deleted.logChunks += total.logChunks;
    this.deleted.dags += total.dags;
    this.deleted.artifacts += total.artifacts;
    this.artifactBytesDeleted += total.artifactBytes;
    const summary = { ...total, tookMs: performance.now() - started };
    if (total.jobs + total.dags + total.artifacts > 0) this.log.info({ event: 'retention', ...summary }, 'deleted finished history past the retention');
    return summary;
  }

  /** After a pass that deleted jobs (their artifacts may be named by nothing now), and now and then regardless. */
  #artifactSweepDue(jobsDeleted: number): boolean {
    if (this.artifacts === null) return false;
    return jobsDeleted > 0 || this.#artifactsSweptAt === null || this.clock() - this.#artifactsSweptAt >= ARTIFACT_SWEEP_EVERY_MS;
  }

  /**
   * Deletes the artifact files older than the cutoff that no job (of any state), key or schedule
   * names, in batches like the rows'. The listing is read off the loop; a file a request asks for
   * while its check is awaited is kept (ArtifactBytes.collect).
   */
  async #sweepArtifacts(before: number, total: Totals): Promise<void> {
    const artifacts = this.artifacts!;
    this.#artifactsSweptAt = this.clock();
    let names: string[];
    try {
      names = await artifacts.entries();
    } catch (err) {
      this.log.error({ err }, 'could not list the artifact folder; no artifact deleted this pass');
      return;
    }
    const inUse = (hash: string): Promise<boolean> => this.store.artifactInUse(hash);
    for (let next = 0; next < names.length;) {
      const t0 = performance.now();
      const end = Math.min(names.length, next + this.#files);
      for (; next < end; next++) {
        const freed = await artifacts.collect(names[next]!, before, inUse);
        if (freed === null) continue;
        total.artifacts++;
        total.artifactBytes += freed;
      }
      this.#files = nextBatchSize(this.#files, this.#record(performance.now() - t0, total));
      if (next < names.length) await nextTurn();
    }
  }

  #record(ms: number, total: Totals): number {
    total.batches++;
    total.batchMsMax = Math.max(total.batchMsMax, ms);
    this.batches++;
    this.batchMsMax = Math.max(this.batchMsMax, ms);
    this.recentBatchMs.push(ms);
    if (this.recentBatchMs.length > 256) this.recentBatchMs.shift();
    return ms;
  }
}
