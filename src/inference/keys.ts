import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, importSPKI, type CryptoKey } from 'jose';

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
 * The master's RS256 key pair, generated on first start and kept in its data dir (private key
 * mode 0600), so tokens stay valid across master restarts and agents keep the key they fetched.
 */
export async function loadOrCreateSigningKeys(dataDir: string): Promise<SigningKeys> {
  const privatePath = join(dataDir, PRIVATE_KEY_FILE);
  const publicPath = join(dataDir, PUBLIC_KEY_FILE);
  if (existsSync(privatePath) && existsSync(publicPath)) {
    const privatePem = readFileSync(privatePath, 'utf8');
    const publicPem = readFileSync(publicPath, 'utf8');
    return {
      privateKey: await importPKCS8(privatePem, 'RS256'),
      publicKey: await importSPKI(publicPem, 'RS256', { extractable: true }),
      publicPem,
      kid: keyId(publicPem),
    };
  }
  const pair = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const privatePem = await exportPKCS8(pair.privateKey);
  const publicPem = await exportSPKI(pair.publicKey);
  // Written under temporary names and renamed, so a crash never leaves half a key behind.
  writeFileSync(`${privatePath}.tmp`, privatePem, { mode: 0o600 });
  writeFileSync(`${publicPath}.tmp`, publicPem, { mode: 0o644 });
  renameSync(`${publicPath}.tmp`, publicPath);
  renameSync(`${privatePath}.tmp`, privatePath);
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, publicPem, kid: keyId(publicPem) };
}

export function keyId(publicPem: string): string {
  return createHash('sha256').update(publicPem.trim()).digest('base64url').slice(0, 16);
}
