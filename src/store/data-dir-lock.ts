import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, TitanError } from '../common/errors.js';

/**
 * One master per data dir. The lock is an exclusive SQLite lock on `<dataDir>/master.lock`, held
 * by the kernel (fcntl) for as long as this process keeps the connection open: it goes when the
 * process dies, however it dies, so a stale pid file never blocks a restart and a reused pid never
 * fakes a live master. `master.pid` only names the holder for the refusal message.
 */
export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  /**
   * Takes the lock, or throws naming the pid that holds it.
   * Failure: E_INVALID_REQUEST when another live master (or a tool) holds the dir.
   */
  static acquire(dataDir: string): DataDirLock {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const db = new Database(join(dataDir, 'master.lock'));
    try {
      db.pragma('busy_timeout = 0');
      db.pragma('locking_mode = EXCLUSIVE');
      // A write in exclusive locking mode keeps the file's exclusive lock until the connection closes.
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder;');
      db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') throw heldBy(dataDir);
      throw err;
    }
    writeFileSync(join(dataDir, 'master.pid'), `${process.pid}\n`);
    return new DataDirLock(db);
  }

  /** Idempotent. */
  release(): void {
    if (this.db.open) this.db.close();
  }
}

function heldBy(dataDir: string): TitanError {
  let pid = 'unknown';
  try {
    pid = readFileSync(join(dataDir, 'master.pid'), 'utf8').trim() || pid;
  } catch {
    // the holder has not written it yet
  }
  return new TitanError(
    ErrorCode.INVALID_REQUEST,
    `data dir ${dataDir} is in use by another master (pid ${pid}); stop that one first, or give this one another --data-dir`,
  );
}
