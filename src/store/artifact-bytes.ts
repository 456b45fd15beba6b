import { createHash } from 'node:crypto';

/** What an artifact's address looks like: the sha256 of its bytes, in hex. */
export const ARTIFACT_HASH = /^[a-f0-9]{64}$/;

export function artifactHash(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Where the master keeps artifact bytes (scripts, folder bundles), content-addressed by sha256:
 * files in the data dir (SQLite), or PostgreSQL's `artifact_blobs` mirrored in the data dir (HA).
 * Only storing is awaited: `has` and `get` answer from the data dir, which holds every artifact
 * the master may be asked for.
 */
export interface ArtifactBytes {
  /** Resolves with the hash once the bytes are stored for good (a fresh upload restarts retention's grace). */
  put(data: Uint8Array): Promise<string>;
  has(hash: string): boolean;
  /** Throws UNKNOWN_ARTIFACT when absent, INVALID_REQUEST when `hash` is no sha256. */
  get(hash: string): Buffer;
  /** The names retention may look at (artifacts and leftovers), read off the loop. */
  entries(): Promise<string[]>;
  /**
   * Deletes one entry if it is garbage: older than `before` and named by nothing (`inUse`).
   * Returns the bytes freed, or null when kept.
   */
  collect(name: string, before: number, inUse: (hash: string) => Promise<boolean>): Promise<number | null>;
}
