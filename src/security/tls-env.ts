import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { TlsClientFiles } from './tls.js';

/** TITAN_TLS / TITAN_CA / TITAN_CERT / TITAN_KEY for a job, so its SDK dials the master as its worker does. */
export function tlsEnvironment(tls: TlsClientFiles | undefined): Record<string, string> {
  if (tls === undefined) return {};
  return {
    TITAN_TLS: '1',
    TITAN_CA: resolve(tls.ca),
    ...(tls.cert !== undefined ? { TITAN_CERT: resolve(tls.cert) } : {}),
    ...(tls.key !== undefined ? { TITAN_KEY: resolve(tls.key) } : {}),
  };
}

/** The CN of a PEM certificate file: under mTLS a worker's id is its certificate's CN. */
export function certificateCommonName(path: string): string {
  let subject: string;
  try {
    subject = new X509Certificate(readFileSync(path)).subject;
  } catch (err) {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `cannot read the certificate ${path}: ${(err as Error).message}`);
  }
  const cn = /^CN=(.+)$/m.exec(subject)?.[1];
  if (cn === undefined)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `the certificate ${path} has no CN; make one with \`titan certs add <name> --kind worker\``);
  return cn;
}
