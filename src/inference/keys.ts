import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { importPKCS8, importSPKI, type CryptoKey } from 'jose';

export interface SigningKeys {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** SPKI PEM, what agents verify tokens with. */
  readonly publicPem: string;
  /** Names the key in the JWT header, so a rotated key is told apart. */
  readonly kid: string;
}

export const PRIVATE_KEY_FILE = 'inference-rs256.key.pem';
export const PUBLIC_KEY_FILE = 'inference-rs256.pub.pem';

/**
 * The key pair's PEMs, made on first start and kept in the data dir (private key mode 0600). The
 * public key is derived from the private one, so copying the private key file alone is enough
 * to give another master the same pair (docs/HA.md). Synchronous, so a master can check it
 * before it serves anything.
 */
export function signingKeyPems(dataDir: string): { readonly privatePem: string; readonly publicPem: string } {
  const privatePath = join(dataDir, PRIVATE_KEY_FILE);
  const publicPath = join(dataDir, PUBLIC_KEY_FILE);
  if (existsSync(privatePath)) {
    const privatePem = readFileSync(privatePath, 'utf8');
    const publicPem = createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }).toString();
    if (!existsSync(publicPath) || readFileSync(publicPath, 'utf8') !== publicPem) writeAtomically(publicPath, publicPem, 0o644);
    return { privatePem, publicPem };
  }
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  writeAtomically(publicPath, pair.publicKey, 0o644);
  writeAtomically(privatePath, pair.privateKey, 0o600);
  return { privatePem: pair.privateKey, publicPem: pair.publicKey };
}

/** Written under a temporary name and renamed, so a crash never leaves half a key behind. */
function writeAtomically(path: string, text: string, mode: number): void {
  writeFileSync(`${path}.tmp`, text, { mode });
  renameSync(`${path}.tmp`, path);
}

/**
 * The master's RS256 key pair (signingKeyPems), so tokens stay valid across master restarts, and
 * across failovers when every master holds the same private key, and agents keep the key they fetched.
 */
export async function loadOrCreateSigningKeys(dataDir: string): Promise<SigningKeys> {
  const { privatePem, publicPem } = signingKeyPems(dataDir);
  return {
    privateKey: await importPKCS8(privatePem, 'RS256'),
    publicKey: await importSPKI(publicPem, 'RS256', { extractable: true }),
    publicPem,
    kid: keyId(publicPem),
  };
}

export function keyId(publicPem: string): string {
  return createHash('sha256').update(publicPem.trim()).digest('base64url').slice(0, 16);
}
