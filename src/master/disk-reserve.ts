import { statfsSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import { isDiskFull } from '../common/errors.js';

/**
 * Space held back beside the store (`store-reserve`, 8 MB by default): deleting it gives the
 * writes already in flight room to commit when the disk fills up (StoreGuard).
 */
export class DiskReserve {
  private readonly file: string;

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
    private readonly bytes = Number(process.env.TITAN_STORE_RESERVE_MB ?? 8) * 1048576,
  ) {
    this.file = join(dataDir, 'store-reserve');
  }

  /** True when the reserve is in place (or none is wanted). */
  get held(): boolean {
    return this.bytes <= 0 || existsSync(this.file);
  }

  /** Writes the reserve; false when the disk has no room for it. */
  write(): boolean {
    if (this.bytes <= 0) return true;
    try {
      writeFileSync(this.file, Buffer.alloc(this.bytes, 0x52));
      return true;
    } catch (err) {
      rmSync(this.file, { force: true });
      if (!isDiskFull(err)) this.log.warn({ err }, 'could not write the store reserve');
      return false;
    }
  }

  /** Deletes the reserve; false when there was none left to give. */
  release(): boolean {
    if (!existsSync(this.file)) return false;
    rmSync(this.file, { force: true });
    return true;
  }

  /** Whether the disk has room for the reserve twice over, so writing it back leaves room to work. */
  hasRoomToRestore(): boolean {
    try {
      const fs = statfsSync(this.dataDir);
      return fs.bavail * fs.bsize >= 2 * this.bytes;
    } catch {
      return true;
    }
  }
}
