import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../common/log.js';

/**
 * Removes job workspaces (`<workDir>/jobs/<id>`) and DAG shared folders (`<workDir>/shared/<id>`)
 * untouched for longer than the retention, except those of jobs this worker still holds. A
 * few entries per turn of the loop, so a worker with thousands of old folders stays responsive.
 */
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
        for (const name of names) {
          if (this.inUse().has(name)) continue;
          const folder = path.join(parent, name);
          const info = await stat(folder).catch(() => undefined);
          if (info === undefined || !info.isDirectory() || now - info.mtimeMs < this.retentionMs) continue;
          await rm(folder, { recursive: true, force: true });
          removed++;
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
}
