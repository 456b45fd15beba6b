import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { ErrorCode, TitanError } from '../common/errors.js';
import { WORKER_OU } from './tls.js';

/**
 * The cluster's certificates, made with the system's openssl (no hand-written crypto and no extra
 * npm dependency): an EC P-256 CA, and leaves it signs. Keys are written 0600.
 */
export type CertKind = 'master' | 'worker' | 'client';

const UNIT: Record<CertKind, string> = { master: 'titan-master', worker: WORKER_OU, client: 'titan-client' };
const CA_DAYS = 3650;
const LEAF_DAYS = 825;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function openssl(args: readonly string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.error !== undefined) {
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `titan certs needs the openssl command (${result.error.message}); install it (apt-get install openssl) and retry`,
    );
  }
  if (result.status !== 0) throw new TitanError(ErrorCode.INTERNAL, `openssl ${args[0] ?? ''} failed: ${result.stderr.trim()}`);
}

/** Creates ca.crt/ca.key unless present (then refuses, unless `force`). */
export function createCa(dir: string, force: boolean): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (existsSync(join(dir, 'ca.key')) && !force) {
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `${dir} already holds a CA (ca.key): add certificates with \`titan certs add\`, or pass --force to replace it (every certificate it signed stops working)`,
    );
  }
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      String(CA_DAYS),
      '-subj',
      '/O=Titan/CN=Titan cluster CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  chmodSync(join(dir, 'ca.key'), 0o600);
}

/** Issues `<name>.crt` / `<name>.key` signed by the CA in `dir`. A master certificate names its hosts (always localhost and loopback). */
export function issueCertificate(dir: string, name: string, kind: CertKind, hosts: readonly string[] = []): { cert: string; key: string } {
  if (!NAME.test(name))
    throw new TitanError(ErrorCode.INVALID_REQUEST, `certificate name ${JSON.stringify(name)} must be 1-64 letters, digits, dot, dash or underscore`);
  if (!existsSync(join(dir, 'ca.key'))) throw new TitanError(ErrorCode.INVALID_REQUEST, `no CA in ${dir}: run \`titan certs init --dir ${dir}\` first`);
  const sans = kind === 'master' ? [...new Set(['localhost', '127.0.0.1', '::1', ...hosts])] : [];
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${kind === 'master' ? 'serverAuth,clientAuth' : 'clientAuth'}`,
    ...(sans.length > 0 ? [`subjectAltName=${sans.map((h) => (isIP(h) !== 0 ? `IP:${h}` : `DNS:${h}`)).join(',')}`] : []),
  ].join('\n');
  const tmp = `.${name}-${randomBytes(4).toString('hex')}`;
  writeFileSync(join(dir, `${tmp}.ext`), `${ext}\n`);
  try {
    openssl(
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${tmp}.csr`,
        '-subj',
        `/O=Titan/OU=${UNIT[kind]}/CN=${name}`,
      ],
      dir,
    );
    chmodSync(join(dir, `${name}.key`), 0o600);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${tmp}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        `0x${randomBytes(16).toString('hex')}`,
        '-days',
        String(LEAF_DAYS),
        '-sha256',
        '-extfile',
        `${tmp}.ext`,
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
  } finally {
    rmSync(join(dir, `${tmp}.ext`), { force: true });
    rmSync(join(dir, `${tmp}.csr`), { force: true });
  }
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}
