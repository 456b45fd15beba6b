import { createHash } from 'node:crypto';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { AsyncStore } from '../store/async-store.js';

/** A secret every master on one store must hold alike: the file it is read from and its value. */
export interface SharedSecret {
  /** Its name in messages and in the store's meta row (`token`, `audit.key`, `job-token.key`). */
  readonly name: string;
  readonly file: string;
  readonly value: string;
}

/** What the store keeps of a secret: enough to tell two apart, nothing to recover it from. */
export function secretFingerprint(secret: SharedSecret): string {
  return createHash('sha256').update(`titan shared secret ${secret.name}\0${secret.value}`).digest('hex');
}

const metaKey = (secret: SharedSecret): string => `secret_fingerprint:${secret.name}`;

/**
 * Masters sharing a PostgreSQL store must share their secrets too: the cluster token the workers
 * hold, the key that seals the audit ledger (kept out of the database on purpose, so the database
 * alone cannot rewrite history) and the key that signs job tokens (a job's token must still be
 * valid after a failover). The store keeps one fingerprint of each. A master whose secret does not
 * match refuses to start (or to lead), naming the file to copy; the first leader records them.
 * Returns the names of the secrets the store already knew (the cluster has used them before).
 */
export async function checkSharedSecrets(
  store: Pick<AsyncStore, 'getMeta' | 'setMeta'>,
  secrets: readonly SharedSecret[],
  record: boolean,
): Promise<{ readonly usedBefore: ReadonlySet<string> }> {
  const usedBefore = new Set<string>();
  for (const secret of secrets) {
    const known = await store.getMeta(metaKey(secret));
    const mine = secretFingerprint(secret);
    if (known === undefined) {
      if (record) await store.setMeta(metaKey(secret), mine);
      continue;
    }
    usedBefore.add(secret.name);
    if (known !== mine) {
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `this master's ${secret.name} (${secret.file}) differs from the one the other masters on this store use: every master needs the same ${secret.name}; copy it from a master that ran on this store before, keep it mode 0600, and start again`,
      );
    }
  }
  return { usedBefore };
}
