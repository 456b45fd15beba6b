import { ArtifactFiles } from '../artifact-files.js';
import { ARTIFACT_HASH, type ArtifactBytes } from '../artifact-bytes.js';
import type { PgArtifactBlobs } from './pg-artifact-blobs.js';

/**
 * A leader's artifact bytes on PostgreSQL (docs/HA.md, "Artifacts' bytes"): `artifact_blobs` is
 * where they live, so a new leader has what the old one received; the data dir holds a mirror
 * that `has` and `get` answer from without a round trip. The mirror is made whole when the
 * master starts to lead (`open`), and only the leader writes afterwards, so it stays whole.
 */
export class PgArtifacts implements ArtifactBytes {
  private constructor(
    private readonly blobs: PgArtifactBlobs,
    private readonly mirror: ArtifactFiles,
  ) {}

  /** Copies into `dir` what the table holds and the folder lacks, and drops what the table lost (another leader's retention). */
  static async open(blobs: PgArtifactBlobs, dir: string): Promise<PgArtifacts> {
    const mirror = new ArtifactFiles(dir);
    const stored = await blobs.list();
    const held = new Set((await mirror.entries()).filter((name) => ARTIFACT_HASH.test(name)));
    for (const { hash, createdAt } of stored) {
      if (!held.delete(hash)) mirror.write(await blobs.get(hash), new Date(createdAt));
    }
    for (const gone of held) mirror.remove(gone);
    return new PgArtifacts(blobs, mirror);
  }

  /** In the table first: an upload is acknowledged only once every master can read it. */
  async put(data: Uint8Array): Promise<string> {
    await this.blobs.put(data);
    return this.mirror.write(data);
  }

  has(hash: string): boolean {
    return this.mirror.has(hash);
  }

  get(hash: string): Buffer {
    return this.mirror.get(hash);
  }

  entries(): Promise<string[]> {
    return this.mirror.entries();
  }

  /**
   * The mirror's copy goes first (a request asking for it after that is told it is gone), then
   * the row, unless uploaded again meanwhile; an upload racing the delete leaves the row either way.
   */
  async collect(name: string, before: number, inUse: (hash: string) => Promise<boolean>): Promise<number | null> {
    const freed = await this.mirror.collect(name, before, inUse);
    if (freed !== null && ARTIFACT_HASH.test(name)) await this.blobs.delete(name, before);
    return freed;
  }
}
