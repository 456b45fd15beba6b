import type { Database, Statement } from 'better-sqlite3';

/** The first id after every id that starts with `prefix` (`team-a.` → `team-a/`), for range scans. */
function prefixEnd(prefix: string): string {
  return `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
}

/** What names an artifact, each found by an index of migration 9 (schedules are few and scanned). */
export const IN_USE_QUERIES = {
  key: 'SELECT 1 FROM keyed_artifacts WHERE hash = ? LIMIT 1',
  script: "SELECT 1 FROM jobs WHERE json_extract(CASE WHEN json_valid(spec) THEN spec END, '$.run.artifact') = ? LIMIT 1",
  bundle: "SELECT 1 FROM jobs WHERE json_extract(CASE WHEN json_valid(spec) THEN spec END, '$.bundle') = ? LIMIT 1",
} as const;

/**
 * Whether content-addressed bytes are reachable from a namespace: published under one of its
 * keys, or named by one of its jobs (a script to run or a bundle). Both scans stay inside the
 * namespace's id range, by the primary keys.
 */
export class ArtifactReach {
  readonly #byKey: Statement<[string, string, string]>;
  readonly #byJob: Statement<[string, string, string]>;
  readonly #anyKey: Statement<[string]>;
  readonly #anyScript: Statement<[string]>;
  readonly #anyBundle: Statement<[string]>;
  readonly #anySchedule: Statement<[string]>;

  constructor(db: Database) {
    this.#byKey = db.prepare('SELECT 1 FROM keyed_artifacts WHERE key >= ? AND key < ? AND hash = ? LIMIT 1');
    this.#byJob = db.prepare('SELECT 1 FROM jobs WHERE id >= ? AND id < ? AND instr(spec, ?) > 0 LIMIT 1');
    this.#anyKey = db.prepare(IN_USE_QUERIES.key);
    this.#anyScript = db.prepare(IN_USE_QUERIES.script);
    this.#anyBundle = db.prepare(IN_USE_QUERIES.bundle);
    this.#anySchedule = db.prepare('SELECT 1 FROM schedules WHERE instr(payload, ?) > 0 LIMIT 1');
  }

  /** Whether anything still names `hash`: a key, a job of any state (its script or bundle), or a schedule's payload. */
  inUse(hash: string): boolean {
    return (
      this.#anyKey.get(hash) !== undefined ||
      this.#anyScript.get(hash) !== undefined ||
      this.#anyBundle.get(hash) !== undefined ||
      this.#anySchedule.get(`"${hash}"`) !== undefined
    );
  }

  reachable(hash: string, idPrefix: string): boolean {
    const end = prefixEnd(idPrefix);
    return this.#byKey.get(idPrefix, end, hash) !== undefined || this.#byJob.get(idPrefix, end, `"${hash}"`) !== undefined;
  }
}
