import type { Command } from 'commander';
import { join } from 'node:path';
import { TitanError, ErrorCode } from '../common/errors.js';
import { createCa, issueCertificate, type CertKind } from '../security/certs.js';
import { printJson } from './client-command.js';
import { titanHome } from './settings.js';

interface CertFlags {
  dir?: string;
  host?: string;
  force?: boolean;
  kind?: string;
  json?: boolean;
}

const hostsOf = (flag: string | undefined): string[] =>
  (flag ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0);

export function registerCerts(program: Command): void {
  const certs = program.command('certs').description('TLS certificates for the cluster (with the system openssl)');
  certs
    .command('init')
    .description('create a CA and master, worker and client certificates in --dir (default ~/.titan/certs)')
    .option('--dir <dir>', 'where to write them')
    .option('--host <names>', 'host names and addresses the master is reached by, comma separated (localhost and loopback are always in)')
    .option('--force', 'replace an existing CA')
    .option('--json', 'machine-readable output')
    .action((flags: CertFlags) => {
      const dir = flags.dir ?? join(titanHome(), 'certs');
      createCa(dir, flags.force === true);
      const made = {
        ca: join(dir, 'ca.crt'),
        master: issueCertificate(dir, 'master', 'master', hostsOf(flags.host)),
        worker: issueCertificate(dir, 'worker', 'worker'),
        client: issueCertificate(dir, 'client', 'client'),
      };
      if (flags.json) printJson(made);
      else {
        process.stdout.write(`CA and certificates in ${dir}: ca.crt, master.crt/key, worker.crt/key (CN=worker), client.crt/key\n`);
        process.stdout.write(`  titan master --tls|--mtls        titan worker --ca ${made.ca} --cert ${made.worker.cert} --key ${made.worker.key}\n`);
      }
    });
  certs
    .command('add <name>')
    .description('issue one more certificate signed by the CA: --kind worker (its CN is the worker id), client or master')
    .option('--dir <dir>', 'where the CA is (default ~/.titan/certs)')
    .option('--kind <kind>', 'worker, client or master', 'client')
    .option('--host <names>', 'master: host names and addresses, comma separated')
    .option('--json', 'machine-readable output')
    .action((name: string, flags: CertFlags) => {
      const kind = flags.kind ?? 'client';
      if (kind !== 'worker' && kind !== 'client' && kind !== 'master')
        throw new TitanError(ErrorCode.INVALID_REQUEST, `--kind is worker, client or master, not "${kind}"`);
      const made = issueCertificate(flags.dir ?? join(titanHome(), 'certs'), name, kind satisfies CertKind, hostsOf(flags.host));
      if (flags.json) printJson(made);
      else process.stdout.write(`${made.cert}\n${made.key}\n`);
    });
}
