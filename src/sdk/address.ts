import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TitanError, ErrorCode } from '../common/errors.js';
import type { TlsClientFiles } from '../security/tls.js';

/** Where Titan keeps its files unless told otherwise: $TITAN_HOME, else ~/.titan. */
export function titanHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.TITAN_HOME ?? join(homedir(), '.titan');
}

export function defaultMasterDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TITAN_DATA_DIR ?? join(titanHome(env), 'master');
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface MasterAddress {
  /** The first master of the list. */
  readonly host: string;
  readonly port: number;
  /** Every master given (`a:9090,b:9090`), in order; one for a single address. */
  readonly masters: readonly HostPort[];
  readonly token: string;
  /** Present when the master speaks TLS. */
  readonly tls?: TlsClientFiles;
}

export interface AddressFlags {
  readonly master?: string;
  readonly token?: string;
  readonly tls?: boolean;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/**
 * TLS is on with --tls / TITAN_TLS=1, or as soon as a CA is named (--ca / TITAN_CA); the CA
 * defaults to `titan certs init`'s. A certificate and key (--cert/--key, TITAN_CERT/TITAN_KEY) are for mTLS.
 */
export function resolveTls(flags: AddressFlags, env: NodeJS.ProcessEnv = process.env): TlsClientFiles | undefined {
  const ca = flags.ca ?? env.TITAN_CA;
  if (flags.tls !== true && ca === undefined && !['1', 'true'].includes(env.TITAN_TLS ?? '')) return undefined;
  const cert = flags.cert ?? env.TITAN_CERT;
  const key = flags.key ?? env.TITAN_KEY;
  if ((cert === undefined) !== (key === undefined))
    throw new TitanError(ErrorCode.INVALID_REQUEST, '--cert and --key go together (a client certificate and its private key, for mTLS)');
  return { ca: ca ?? join(titanHome(env), 'certs', 'ca.crt'), ...(cert !== undefined && key !== undefined ? { cert, key } : {}) };
}

/** host:port, with the default port when only a host is given. */
export function parseHostPort(value: string, defaultPort = 9090): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(value.trim());
  if (match === null) throw new TitanError(ErrorCode.INVALID_REQUEST, `"${value}" is not host:port (example: 127.0.0.1:9090)`);
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `port ${match[3] ?? ''} in "${value}" is not 0-65535 (0 picks a free port)`);
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}

/** `a:9090,b:9090,c` (or an array of such): the masters in order, the default port where none is given. */
export function parseMasterList(spec: string | readonly string[]): HostPort[] {
  const parts = (typeof spec === 'string' ? [spec] : spec).flatMap((s) => s.split(',')).map((s) => s.trim());
  const masters = parts.filter((s) => s !== '').map((s) => parseHostPort(s));
  if (masters.length === 0) throw new TitanError(ErrorCode.INVALID_REQUEST, `"${String(spec)}" names no master (example: a:9090,b:9090)`);
  return masters;
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Flags, then TITAN_MASTER / TITAN_TOKEN (also TITAN_HOST/TITAN_PORT, as jobs get them), then the local data dir's token. */
export function resolveMasterAddress(flags: AddressFlags, env: NodeJS.ProcessEnv = process.env): MasterAddress {
  const spec = flags.master ?? env.TITAN_MASTER ?? (env.TITAN_HOST !== undefined ? `${env.TITAN_HOST}:${env.TITAN_PORT ?? '9090'}` : '127.0.0.1:9090');
  const masters = parseMasterList(spec);
  const { host, port } = masters[0]!;
  const token = flags.token ?? env.TITAN_TOKEN ?? readTokenFile(join(defaultMasterDataDir(env), 'token'));
  const tls = resolveTls(flags, env);
  return { host, port, masters, token, ...(tls !== undefined ? { tls } : {}) };
}

function readTokenFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    throw new TitanError(ErrorCode.UNAUTHENTICATED, `no cluster token: pass --token, set TITAN_TOKEN, or run on the master's host (it reads ${path})`);
  }
}
