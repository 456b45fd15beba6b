import { readFileSync } from 'node:fs';
import { connect as tlsConnect, createServer as createTlsServer, type Server, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { ErrorCode, TitanError } from '../common/errors.js';

/** Paths of the PEM files a client or worker uses: the CA always; a certificate and key for mTLS. */
export interface TlsClientFiles {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

/** What the master serves TLS with; `mtls` requires every client to present a certificate signed by `ca`. */
export interface TlsServerFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly mtls: boolean;
}

/** Certificates made by `titan certs init` carry one of these as their OU. */
export const WORKER_OU = 'titan-worker';

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `cannot read the ${what} ${path}: ${(err as Error).message} (create them with \`titan certs init\`)`);
  }
}

export interface ServerTlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
}

export function loadServerTls(files: TlsServerFiles): ServerTlsMaterial {
  return {
    ca: readPem(files.ca, 'CA certificate'),
    cert: readPem(files.cert, 'master certificate'),
    key: readPem(files.key, 'master key'),
    requestCert: files.mtls,
    rejectUnauthorized: files.mtls,
  };
}

/** A TLS listener: with mTLS, a client without a certificate signed by the CA fails the handshake. */
export function tlsServer(material: ServerTlsMaterial, onSecure: (socket: TLSSocket) => void): Server {
  return createTlsServer({ ...material, minVersion: 'TLSv1.2' }, onSecure);
}

/** The subject of the verified certificate on the other end, or nulls without one. */
export function peerSubject(socket: TLSSocket): { commonName: string | null; unit: string | null } {
  if (!socket.authorized) return { commonName: null, unit: null };
  const subject = socket.getPeerCertificate().subject as Record<string, string | string[] | undefined> | undefined;
  const first = (v: string | string[] | undefined): string | null => (Array.isArray(v) ? (v[0] ?? null) : (v ?? null));
  return { commonName: first(subject?.CN), unit: first(subject?.OU) };
}

/** Opens a verified TLS connection (the master's certificate must be signed by the CA and name the host). */
export function connectTls(host: string, port: number, files: TlsClientFiles): TLSSocket {
  return tlsConnect({
    host,
    port,
    ca: readPem(files.ca, 'CA certificate'),
    ...(files.cert !== undefined ? { cert: readPem(files.cert, 'client certificate') } : {}),
    ...(files.key !== undefined ? { key: readPem(files.key, 'client key') } : {}),
    // SNI takes host names only; an IP is checked against the certificate's IP SANs.
    ...(isIP(host) === 0 ? { servername: host } : {}),
    minVersion: 'TLSv1.2',
  });
}
