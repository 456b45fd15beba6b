import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../common/log.js';

/**
 * Removes job workspaces (`<workDir>/jobs/<id>`) and DAG shared folders (`<workDir>/shared/<id>`)
 * untouched for longer than the retention, except those of jobs this worker still holds. A
 * few entries per turn of the loop, so a worker with thousands of old folders stays responsive.
 */
/** Folders stat'ed and removed at once (the thread pool has 4 threads; more only queue there). */
const SWEEP_CONCURRENCY = 8;

export class WorkspaceSweeper {
  #timer: NodeJS.Timeout | null = null;
  #sweeping = false;

  constructor(
    private readonly workDir: string,
    readonly retentionMs: number,
    /** Ids (job or DAG) whose folders are in use now. */
    private readonly inUse: () => ReadonlySet<string>,
    private readonly log: Logger,
    private readonly intervalMs = Math.max(1_000, Math.min(600_000, Math.floor(retentionMs / 4))),
  ) {}

  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => void this.sweep(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One pass; resolves with how many folders it removed. */
  async sweep(now = Date.now()): Promise<number> {
    if (this.#sweeping) return 0;
    this.#sweeping = true;
    let removed = 0;
    try {
      for (const kind of ['jobs', 'shared']) {
        const parent = path.join(this.workDir, kind);
        const names = await readdir(parent).catch(() => [] as string[]);
        // A few folders at a time: one by one, each stat and rm waited for the last, and a busy
        // worker made folders faster than it removed them (100,000 left in a 200,000-job soak).
        for (let i = 0; i < names.length; i += SWEEP_CONCURRENCY) {
          const inUse = this.inUse();
          const batch = names.slice(i, i + SWEEP_CONCURRENCY).filter((name) => !inUse.has(name));
          const done = await Promise.all(batch.map((name) => this.removeIfOld(path.join(parent, name), now)));
          removed += done.filter(Boolean).length;
        }
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'workspace sweep failed; retrying at the next one');
    } finally {
      this.#sweeping = false;
    }
    if (removed > 0) this.log.info({ event: 'retention', removed }, 'removed job workspaces past the retention');
    return removed;
  }

  private async removeIfOld(folder: string, now: number): Promise<boolean> {
    const info = await stat(folder).catch(() => undefined);
    if (info === undefined || !info.isDirectory() || now - info.mtimeMs < this.retentionMs) return false;
    await rm(folder, { recursive: true, force: true });
    return true;
  }
}
