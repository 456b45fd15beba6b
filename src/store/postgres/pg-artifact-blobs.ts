import type pg from 'pg';
import { ErrorCode, TitanError } from '../../common/errors.js';
import { ARTIFACT_HASH as HASH, artifactHash } from '../artifact-bytes.js';

/**
 * Artifact bytes (scripts, folder bundles) in PostgreSQL, so every master reads what any master
 * received (the master reads them through the mirror in its data dir: PgArtifacts). An artifact arrives in
 * one frame (16 MiB at most), well inside what a bytea holds. Content-addressed and written once:
 * the same bytes uploaded to two masters are one row. Not fenced: bytes under their own hash
 * cannot be wrong, whoever writes them.
 */
export class PgArtifactBlobs {
  constructor(private readonly pool: pg.Pool) {}

  async put(data: Uint8Array, now = Date.now()): Promise<string> {
    const hash = artifactHash(data);
    // Uploaded again: a later created_at restarts retention's grace, as a file's fresh mtime does.
    const upsert =
      'INSERT INTO artifact_blobs (hash, size, bytes, created_at) VALUES ($1, $2, $3, $4) ' +
      'ON CONFLICT (hash) DO UPDATE SET created_at = GREATEST(artifact_blobs.created_at, EXCLUDED.created_at)';
    await this.pool.query(upsert, [hash, data.byteLength, Buffer.from(data.buffer, data.byteOffset, data.byteLength), now]);
    return hash;
  }

  async has(hash: string): Promise<boolean> {
    if (!HASH.test(hash)) return false;
    const { rows } = await this.pool.query('SELECT 1 FROM artifact_blobs WHERE hash = $1', [hash]);
    return rows.length > 0;
  }

  async get(hash: string): Promise<Buffer> {
    if (!HASH.test(hash)) throw new TitanError(ErrorCode.INVALID_REQUEST, `artifact address ${hash} is not a sha256 hex digest`);
    const { rows } = await this.pool.query<{ bytes: Buffer }>('SELECT bytes FROM artifact_blobs WHERE hash = $1', [hash]);
    const row = rows[0];
    if (row === undefined) throw new TitanError(ErrorCode.UNKNOWN_ARTIFACT, `no artifact ${hash} in the cluster's store; upload it again`);
    return row.bytes;
  }

  /** Every stored hash, with when its bytes were last uploaded (ms). */
  async list(): Promise<{ hash: string; createdAt: number }[]> {
    const { rows } = await this.pool.query<{ hash: string; created_at: string }>('SELECT hash, created_at FROM artifact_blobs');
    return rows.map((r) => ({ hash: r.hash, createdAt: Number(r.created_at) }));
  }

  /** Deletes the bytes unless uploaded again since `before`; true when deleted. */
  async delete(hash: string, before: number): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM artifact_blobs WHERE hash = $1 AND created_at < $2', [hash, before]);
    return (rowCount ?? 0) > 0;
  }
}
