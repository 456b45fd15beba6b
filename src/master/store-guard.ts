/**
 * Keeps "acknowledged means durable" true when the master's disk fills up (docs/RELIABILITY.md).
 *
 * A reserve file (`store-reserve`, 8 MB by default) holds space back. The first write that fails
 * for want of space deletes it and is tried again, so what was in flight commits; from then on the
 * store is `full`: submissions and results are refused with E_STORE_FULL (workers keep their
 * results and send them again), the janitors stand still, and any write that still fails is held
 * here, its effects deferred, in order, until it commits. Every second the guard tries again; once
 * the held writes commit and the reserve could be written back, the store is writable again.
 */
import { statfsSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import { isDiskFull } from '../common/errors.js';
import type { Dag } from '../core/dag.js';
import type { Effect } from '../core/effects.js';
import type { JobWrite, ScheduleRecord, Store } from '../store/store.js';

export interface StoreBatch {
  readonly writes: readonly JobWrite[];
  readonly dags: readonly Dag[];
  readonly schedules: readonly ScheduleRecord[];
  readonly effects: readonly Effect[];
}

const RETRY_MS = 1_000;

export class StoreGuard {
  private readonly held: StoreBatch[] = [];
  private readonly reserveFile: string;
  private full = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    readonly dataDir: string,
    private readonly log: Logger,
    /** Performs a batch's effects once its writes committed. */
    private readonly perform: (batch: StoreBatch) => void,
    private readonly reserveBytes = Number(process.env.TITAN_STORE_RESERVE_MB ?? 8) * 1048576,
  ) {
    this.reserveFile = join(dataDir, 'store-reserve');
  }

  /** Writes the reserve at start; a disk already full starts the master refusing submissions. */
  start(): void {
    if (this.reserveBytes <= 0 || existsSync(this.reserveFile)) return;
    if (!this.writeReserve()) this.enterFull('the data dir has no room for the store reserve at start');
  }

  /** True while new work must be refused: held writes, or no reserve left. */
  get isFull(): boolean {
    return this.full;
  }

  /** Writes held for lack of space (what `titan stats` and /metrics show). */
  get heldWrites(): number {
    return this.held.length;
  }

  /**
   * Commits the batch (then performs its effects) or, when the disk is full, holds it. Returns
   * whether it committed now. Errors other than a full disk are thrown, as before.
   */
  commit(batch: StoreBatch): boolean {
    if (this.held.length > 0) {
      this.hold(batch);
      return false;
    }
    if (this.tryWrite(batch)) {
      this.perform(batch);
      return true;
    }
    // Room for what was already accepted: the reserve goes, and the write is tried once more.
    if (this.releaseReserve() && this.tryWrite(batch)) {
      this.enterFull('a store write found the disk full; the reserve was released for work in flight');
      this.perform(batch);
      return true;
    }
    this.enterFull('a store write found the disk full, reserve used up; writes are held in memory until space returns');
    this.hold(batch);
    return false;
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private tryWrite(batch: StoreBatch): boolean {
    try {
      this.store.writeJobs(batch.writes, batch.dags, batch.schedules);
      return true;
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      return false;
    }
  }

  private hold(batch: StoreBatch): void {
    this.held.push(batch);
  }

  private enterFull(why: string): void {
    if (!this.full) this.log.error({ dataDir: this.dataDir, held: this.held.length, why }, 'store full: refusing submissions until space is freed');
    this.full = true;
    this.timer ??= setInterval(() => this.retry(), RETRY_MS);
    this.timer.unref();
  }

  /** Writes what is held (one transaction: the rows reflect each job's latest state), then restores the reserve. */
  private retry(): void {
    if (this.held.length > 0) {
      const batches = this.held.splice(0);
      const merged: StoreBatch = {
        writes: batches.flatMap((b) => b.writes),
        dags: [...new Set(batches.flatMap((b) => b.dags))],
        schedules: batches.flatMap((b) => b.schedules),
        effects: [],
      };
      if (!this.tryWrite(merged)) {
        this.held.unshift(...batches);
        return;
      }
      this.log.warn({ batches: batches.length }, 'held store writes committed');
      for (const batch of batches) this.perform(batch);
    }
    if (!this.hasRoomForReserve() || !this.writeReserve()) return;
    this.full = false;
    this.close();
    this.log.warn({ dataDir: this.dataDir }, 'store writable again: accepting submissions');
  }

  private hasRoomForReserve(): boolean {
    try {
      const fs = statfsSync(this.dataDir);
      return fs.bavail * fs.bsize >= 2 * this.reserveBytes;
    } catch {
      return true;
    }
  }

  private writeReserve(): boolean {
    if (this.reserveBytes <= 0) return true;
    try {
      writeFileSync(this.reserveFile, Buffer.alloc(this.reserveBytes, 0x52));
      return true;
    } catch (err) {
      rmSync(this.reserveFile, { force: true });
      if (!isDiskFull(err)) this.log.warn({ err }, 'could not write the store reserve');
      return false;
    }
  }

  private releaseReserve(): boolean {
    if (!existsSync(this.reserveFile)) return false;
    rmSync(this.reserveFile, { force: true });
    return true;
  }
}
