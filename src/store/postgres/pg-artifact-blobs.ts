import { createHash } from 'node:crypto';
import type pg from 'pg';
import { ErrorCode, TitanError } from '../../common/errors.js';

const HASH = /^[a-f0-9]{64}$/;

/**
 * Artifact bytes (scripts, folder bundles) in PostgreSQL, so every master reads what any master
 * received: the same put/has/get as the file-backed ArtifactStore, awaited. An artifact arrives in
 * one frame (16 MiB at most), well inside what a bytea holds. Content-addressed and written once:
 * the same bytes uploaded to two masters are one row. Not fenced: bytes under their own hash
 * cannot be wrong, whoever writes them.
 */
export class PgArtifactBlobs {
  constructor(private readonly pool: pg.Pool) {}

  async put(data: Uint8Array, now = Date.now()): Promise<string> {
    const hash = createHash('sha256').update(data).digest('hex');
    await this.pool.query('INSERT INTO artifact_blobs (hash, size, bytes, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING', [
      hash,
      data.byteLength,
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      now,
    ]);
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
}
