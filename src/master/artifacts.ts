import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { TitanError, ErrorCode } from '../common/errors.js';

const HASH = /^[a-f0-9]{64}$/;

/** Content-addressed files (scripts, folder bundles) under the master's data dir. */
export class ArtifactStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  put(data: Uint8Array): string {
    const hash = createHash('sha256').update(data).digest('hex');
    const path = this.pathOf(hash);
    if (!existsSync(path)) {
      const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
      writeFileSync(temp, data);
      renameSync(temp, path);
    }
    return hash;
  }

  has(hash: string): boolean {
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

  private pathOf(hash: string): string {
    return join(this.dir, hash);
  }
}
