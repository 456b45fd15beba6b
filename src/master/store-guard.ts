/**
 * The master's write path: group commit, and "acknowledged means durable" even when the disk
 * fills up (docs/RELIABILITY.md, docs/ARCHITECTURE.md "The write path").
 *
 * Every change the core makes arrives here as a batch (its rows and the effects that follow).
 * Batches that arrive in one turn of the event loop are committed together in one transaction
 * (`commitTick`), and only then are their effects performed, in the order the batches came. While
 * a commit is in flight the next batches wait for the one after it, so order always holds.
 *
 * A reserve file (DiskReserve) holds space back. The first commit that fails for want of space
 * deletes it and is tried again, so what was in flight commits; from then on the store is `full`:
 * submissions and results are refused with E_STORE_FULL (workers keep their results and send them
 * again), the janitors stand still, and any batch that still cannot be written is held here, its
 * effects deferred, in order, until it commits. Every second the guard tries again; once the held
 * batches commit and the reserve could be written back, the store is writable again.
 */
import type { Logger } from '../common/log.js';
import { isDiskFull } from '../common/errors.js';
import type { Dag } from '../core/dag.js';
import type { Effect } from '../core/effects.js';
import type { TickCommit } from '../store/async-store.js';
import type { JobWrite, ScheduleRecord } from '../store/store.js';
import { DiskReserve } from './disk-reserve.js';

export interface StoreBatch {
  readonly writes: readonly JobWrite[];
  readonly dags: readonly Dag[];
  readonly schedules: readonly ScheduleRecord[];
  readonly effects: readonly Effect[];
}

/** Where ticks are committed: the store's group commit. */
export interface TickCommits {
  commitTick(tick: TickCommit): Promise<void>;
}

/** `committed`: on disk, effects performed. `held`: kept in memory for a full disk, effects deferred until it commits. */
export type CommitOutcome = 'committed' | 'held';

interface Pending {
  readonly batch: StoreBatch;
  settle(outcome: CommitOutcome): void;
  fail(err: unknown): void;
}

const RETRY_MS = 1_000;

export class StoreGuard {
  private readonly queue: Pending[] = [];
  private readonly held: Pending[] = [];
  private readonly reserve: DiskReserve;
  private readonly idleWaiters: Array<() => void> = [];
  private committing = false;
  private flushScheduled = false;
  private full = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: TickCommits,
    readonly dataDir: string,
    private readonly log: Logger,
    /** Performs a batch's effects once its writes committed. */
    private readonly perform: (batch: StoreBatch) => void,
    /** Told how long each commit that wrote rows took. */
    private readonly committed: (seconds: number) => void = () => {},
    reserveBytes?: number,
  ) {
    this.reserve = new DiskReserve(dataDir, log, reserveBytes);
  }

  /**
   * Told of a commit that failed for another reason than a full disk (a lost database, a stale
   * epoch): the core's memory is then ahead of the store, which only a fresh start from the store
   * mends. On PostgreSQL the composition root steps down on it.
   */
  onFailure: (err: unknown) => void = () => {};

  /** Writes the reserve at start; a disk already full starts the master refusing submissions. */
  start(): void {
    if (!this.reserve.held && !this.reserve.write()) this.enterFull('the data dir has no room for the store reserve at start');
  }

  /** True while new work must be refused: held writes, or no reserve left. */
  get isFull(): boolean {
    return this.full;
  }

  /** Batches held in memory until the disk has room (for /metrics). */
  get heldBatches(): number {
    return this.held.length;
  }

  /**
   * Commits the batch with whatever else arrives in this turn of the loop, then performs its
   * effects. Resolves `committed` once both are done, `held` when a full disk holds it (it commits
   * later, with its effects); rejects on any other store error (nothing of the commit is written
   * and none of its effects performed).
   */
  commit(batch: StoreBatch): Promise<CommitOutcome> {
    return new Promise((settle, fail) => {
      this.queue.push({ batch, settle, fail });
      this.schedule();
    });
  }

  /** Resolves once every batch accepted so far has committed or been held (before the store closes). */
  drain(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private get busy(): boolean {
    return this.committing || this.queue.length > 0;
  }

  private schedule(): void {
    if (this.flushScheduled || this.committing) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    if (this.committing) return;
    const batches = this.queue.splice(0);
    if (this.held.length > 0) {
      // Behind held batches: held too, so nothing overtakes them.
      for (const pending of batches) this.hold(pending);
    } else if (batches.length > 0) {
      this.committing = true;
      try {
        const outcome = await this.write(batches);
        if (outcome === 'committed') this.performAll(batches);
        for (const pending of batches) {
          if (outcome === 'held') this.held.push(pending);
          pending.settle(outcome);
        }
      } catch (err) {
        for (const pending of batches) pending.fail(err);
        this.onFailure(err);
      } finally {
        this.committing = false;
      }
    }
    if (this.queue.length > 0) this.schedule();
    else if (!this.busy) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async write(batches: readonly Pending[]): Promise<CommitOutcome> {
    const tick = merged(batches);
    if (await this.tryWrite(tick)) return 'committed';
    // Room for what was already accepted: the reserve goes, and the write is tried once more.
    if (this.reserve.release() && (await this.tryWrite(tick))) {
      this.enterFull('a store write found the disk full; the reserve was released for work in flight');
      return 'committed';
    }
    this.enterFull('a store write found the disk full, reserve used up; writes are held in memory until space returns');
    return 'held';
  }

  /** True when committed; false when the disk is full. Other errors are thrown. */
  private async tryWrite(tick: TickCommit): Promise<boolean> {
    if (tick.writes.length === 0 && (tick.dags ?? []).length === 0 && (tick.schedules ?? []).length === 0) return true;
    const began = performance.now();
    try {
      await this.store.commitTick(tick);
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      return false;
    }
    this.committed((performance.now() - began) / 1000);
    return true;
  }

  private performAll(batches: readonly Pending[]): void {
    for (const { batch } of batches) {
      try {
        this.perform(batch);
      } catch (err) {
        this.log.error({ err }, 'performing the effects of a committed batch failed');
      }
    }
  }

  private hold(pending: Pending): void {
    this.held.push(pending);
    pending.settle('held');
  }

  private enterFull(why: string): void {
    if (!this.full) this.log.error({ dataDir: this.dataDir, held: this.held.length, why }, 'store full: refusing submissions until space is freed');
    this.full = true;
    this.timer ??= setInterval(() => void this.retry(), RETRY_MS);
    this.timer.unref();
  }

  /** Writes what is held (one transaction: the rows reflect each job's latest state), then restores the reserve. */
  private async retry(): Promise<void> {
    if (this.committing) return;
    if (this.held.length > 0) {
      const batches = this.held.splice(0);
      this.committing = true;
      let written = false;
      try {
        written = await this.tryWrite(merged(batches));
      } catch (err) {
        this.log.error({ err }, 'writing the held store batches failed; they stay held');
        this.onFailure(err);
      } finally {
        this.committing = false;
      }
      if (!written) {
        this.held.unshift(...batches);
        this.schedule();
        return;
      }
      this.log.warn({ batches: batches.length }, 'held store writes committed');
      this.performAll(batches);
    }
    if (this.reserve.hasRoomToRestore() && this.reserve.write()) {
      this.full = false;
      this.close();
      this.log.warn({ dataDir: this.dataDir }, 'store writable again: accepting submissions');
    }
    this.schedule();
  }
}

/** One tick of several batches: each job's rows in the order written (the last is its latest state). */
function merged(batches: readonly Pending[]): TickCommit {
  return {
    writes: batches.flatMap((p) => p.batch.writes),
    dags: [...new Set(batches.flatMap((p) => p.batch.dags))],
    schedules: batches.flatMap((p) => p.batch.schedules),
  };
}
