/**
 * A job reaches the master the way its worker does, TLS included (TITAN_CA, and under mTLS
 * TITAN_CERT/TITAN_KEY). When jobs run as another user they cannot read the worker's files, so the
 * worker gives them copies in a folder of the job user's group (0750, files 0640). Under mTLS that
 * is the worker's certificate: it proves the machine, not a role; a job still acts with its job
 * token, and connecting as a worker also takes the cluster token, which jobs never see.
 */
import { chmodSync, chownSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsClientFiles } from '../security/tls.js';
import type { JobUser } from './job-user.js';

export function tlsFilesForJobs(tls: TlsClientFiles | undefined, jobsRoot: string, user: JobUser | null): TlsClientFiles | undefined {
  if (tls === undefined || user === null) return tls;
  const dir = join(jobsRoot, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  chownSync(dir, 0, user.gid);
  chmodSync(dir, 0o750);
  const share = (from: string, name: string): string => {
    const to = join(dir, name);
    copyFileSync(from, to);
    chownSync(to, 0, user.gid);
    chmodSync(to, 0o640);
    return to;
  };
  return {
    ca: share(tls.ca, 'ca.crt'),
    ...(tls.cert !== undefined && tls.key !== undefined ? { cert: share(tls.cert, 'client.crt'), key: share(tls.key, 'client.key') } : {}),
  };
}
