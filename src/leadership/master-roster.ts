import type pg from 'pg';
import { openPgPool, type PgPoolOptions } from '../store/postgres/pg-pool.js';
import { announceMaster, forgetMasters, readMasters, type MasterRow, type SeenMasterRow } from './pg-masters.js';

/**
 * A master's link to the `masters` table: one connection of its own, apart from the store's
 * (fenced, and closed while standing by) and the lease's (whose stalls must not delay renewal).
 */
export class MasterRoster {
  readonly #pool: pg.Pool;

  constructor(url: string, options: PgPoolOptions) {
    this.#pool = openPgPool(url, { ...options, max: 1 });
  }

  announce(row: MasterRow): Promise<void> {
    return announceMaster(this.#pool, row);
  }

  read(): Promise<SeenMasterRow[]> {
    return readMasters(this.#pool);
  }

  forget(olderThanMs: number): Promise<number> {
    return forgetMasters(this.#pool, olderThanMs);
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}
