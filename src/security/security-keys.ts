import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadOrCreateValue } from '../common/persistent-value.js';

/** The key that seals the audit ledger, in the data dir: outside the database, so the database alone cannot rewrite history. */
export const AUDIT_KEY_FILE = 'audit.key';
/** The key that signs job tokens, in the data dir. */
export const JOB_TOKEN_KEY_FILE = 'job-token.key';

/** A security key of the data dir (32 random bytes, hex), made on first use with mode 0600. */
export function loadSecurityKey(dataDir: string, file: typeof AUDIT_KEY_FILE | typeof JOB_TOKEN_KEY_FILE): string {
  return loadOrCreateValue(join(dataDir, file), () => randomBytes(32).toString('hex'), 0o600);
}
