import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadOrCreateValue } from '../common/persistent-value.js';

/** The cluster token lives in the data dir, created on first start, readable by its owner only. */
export function loadOrCreateToken(dataDir: string): string {
  return loadOrCreateValue(join(dataDir, 'token'), () => randomBytes(24).toString('base64url'), 0o600);
}
