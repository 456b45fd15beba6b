import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TitanError, ErrorCode } from '../common/errors.js';
import { ARTIFACT_HASH as HASH, artifactHash, type ArtifactBytes } from './artifact-bytes.js';

/** `put` writes `<hash>.<random>.tmp` first; one left behind by a crash is garbage once old. */
const TEMP = /^[a-f0-9]{64}\.[a-f0-9]{8}\.tmp$/;

/** Content-addressed files (scripts, folder bundles) under the master's data dir. */
export class ArtifactFiles implements ArtifactBytes {
  /** Files whose in-use check is awaited, and whether a request asked for them meanwhile (then they stay). */
  readonly #checking = new Map<string, boolean>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  put(data: Uint8Array): Promise<string> {
    return Promise.resolve(this.write(data));
  }

  /**
   * Stores the bytes now; `writtenAt` dates the file (a mirror copies when the bytes were
   * uploaded, so retention's grace does not restart on every copy).
   */
  write(data: Uint8Array, writtenAt = new Date()): string {
    const hash = artifactHash(data);
    this.#asked(hash);
    const path = this.pathOf(hash);
    if (!existsSync(path)) {
      const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
      writeFileSync(temp, data);
      renameSync(temp, path);
    }
    // Uploaded again: a fresh modification time restarts its grace, so retention cannot delete
    // it between this upload and the submit that will name it.
    utimesSync(path, writtenAt, writtenAt);
    return hash;
  }

  /** Forgets a file the mirror's source no longer holds (gone already is fine). */
  remove(hash: string): void {
    if (!HASH.test(hash)) return;
    try {
      unlinkSync(this.pathOf(hash));
    } catch {
      // already gone
    }
  }

  has(hash: string): boolean {
    this.#asked(hash);
    return HASH.test(hash) && existsSync(this.pathOf(hash));
  }

  get(hash: string): Buffer {
    if (!HASH.test(hash)) throw new TitanError(ErrorCode.INVALID_REQUEST, `artifact address ${hash} is not a sha256 hex digest`);
    try {
      return readFileSync(this.pathOf(hash));
    } catch {
      throw new TitanError(ErrorCode.UNKNOWN_ARTIFACT, `no artifact ${hash} in this master's store; upload it again`);
    }
  }

  /** The names in the folder (artifacts and leftover temp files), read off the loop. */
  entries(): Promise<string[]> {
    return readdir(this.dir);
  }

  /**
   * Deletes one entry if it is garbage: a temp file, or an artifact that `inUse` says nothing
   * names, either last written before `before` (a fresh upload waits for the submit that names
   * it). Returns the bytes freed, or null when kept (or already gone). A request that checks for
   * or uploads the file while `inUse` is awaited keeps it (it may be about to name it); the last
   * look and the unlink are synchronous, so none can start using it in between.
   */
  async collect(name: string, before: number, inUse: (hash: string) => Promise<boolean>): Promise<number | null> {
    const isArtifact = HASH.test(name);
    if (!isArtifact && !TEMP.test(name)) return null;
    const path = join(this.dir, name);
    if (this.#oldSize(path, before) === null) return null;
    if (isArtifact) {
      this.#checking.set(name, false);
      try {
        if (await inUse(name)) return null;
        if (this.#checking.get(name) === true) return null;
      } finally {
        this.#checking.delete(name);
      }
    }
    const size = this.#oldSize(path, before);
    if (size === null) return null;
    try {
      unlinkSync(path);
      return size;
    } catch {
      return null;
    }
  }

  /** The file's size when it was last written before `before`; null when newer or gone. */
  #oldSize(path: string, before: number): number | null {
    try {
      const stat = statSync(path);
      return stat.mtimeMs < before ? stat.size : null;
    } catch {
      return null;
    }
  }

  #asked(hash: string): void {
    if (this.#checking.has(hash)) this.#checking.set(hash, true);
  }

  private pathOf(hash: string): string {
    return join(this.dir, hash);
  }
}
