import type { Database, Statement } from 'better-sqlite3';

/** The first id after every id that starts with `prefix` (`team-a.` → `team-a/`), for range scans. */
function prefixEnd(prefix: string): string {
  return `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
}

/**
 * Whether content-addressed bytes are reachable from a namespace: published under one of its
 * keys, or named by one of its jobs (a script to run or a bundle). Both scans stay inside the
 * namespace's id range, by the primary keys.
 */
export class ArtifactReach {
  readonly #byKey: Statement<[string, string, string]>;
  readonly #byJob: Statement<[string, string, string]>;

  constructor(db: Database) {
    this.#byKey = db.prepare('SELECT 1 FROM keyed_artifacts WHERE key >= ? AND key < ? AND hash = ? LIMIT 1');
    this.#byJob = db.prepare('SELECT 1 FROM jobs WHERE id >= ? AND id < ? AND instr(spec, ?) > 0 LIMIT 1');
  }

  reachable(hash: string, idPrefix: string): boolean {
    const end = prefixEnd(idPrefix);
    return this.#byKey.get(idPrefix, end, hash) !== undefined || this.#byJob.get(idPrefix, end, `"${hash}"`) !== undefined;
  }
}
