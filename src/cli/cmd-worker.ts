import type { Command } from 'commander';
import { join } from 'node:path';
import { createLogger } from '../common/log.js';
import { WORKER_DEFAULTS, type WorkerOptions } from '../worker/options.js';
import { Worker } from '../worker/worker.js';
import { parseTags, positiveInt, resolveMasterAddress, titanHome } from './settings.js';
import { resolveTls } from '../sdk/address.js';
import { certificateCommonName } from '../security/tls-env.js';

interface WorkerFlags {
  master?: string;
  token?: string;
  tags?: string;
  slots?: string;
  workDir?: string;
  id?: string;
  drainGrace?: string;
  tls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

export function workerOptionsFrom(flags: WorkerFlags, env: NodeJS.ProcessEnv = process.env): WorkerOptions {
  const address = resolveMasterAddress({
    ...(flags.master !== undefined ? { master: flags.master } : {}),
    ...(flags.token !== undefined ? { token: flags.token } : {}),
  }, env);
  const tls = resolveTls(flags, env);
  // Under mTLS the master knows this worker by its certificate's CN, so that is its id by default.
  const id = flags.id ?? env.TITAN_WORKER_ID ?? (tls?.cert !== undefined ? certificateCommonName(tls.cert) : undefined);
  return {
    masterHost: address.host,
    masterPort: address.port,
    token: address.token,
    workDir: flags.workDir ?? env.TITAN_WORK_DIR ?? join(titanHome(env), 'worker'),
    tags: parseTags(flags.tags ?? env.TITAN_TAGS),
    slots: flags.slots !== undefined ? positiveInt('--slots', flags.slots) : WORKER_DEFAULTS.slots,
    drainGraceMs: flags.drainGrace !== undefined ? positiveInt('--drain-grace', flags.drainGrace) : WORKER_DEFAULTS.drainGraceMs,
    killGraceMs: WORKER_DEFAULTS.killGraceMs,
    reconnectMinMs: WORKER_DEFAULTS.reconnectMinMs,
    reconnectMaxMs: WORKER_DEFAULTS.reconnectMaxMs,
    ...(id !== undefined ? { workerId: id } : {}),
    ...(tls !== undefined ? { tls } : {}),
  };
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker that dials the master and runs jobs')
    .option('--master <host:port>', 'master address (env TITAN_MASTER)')
    .option('--token <token>', 'cluster token (env TITAN_TOKEN)')
    .option('--tags <list>', 'capabilities, comma separated, e.g. GPU,HIGH_MEM (GENERAL is implied)')
    .option('--slots <n>', 'jobs run at once', String(WORKER_DEFAULTS.slots))
    .option('--work-dir <dir>', 'job workspaces, logs and the pid registry (env TITAN_WORK_DIR)')
    .option('--id <id>', 'worker id (default: kept in the work dir)')
    .option('--drain-grace <ms>', 'on SIGTERM, how long running jobs may take to finish')
    .option('--tls', 'dial the master over TLS (env TITAN_TLS=1; implied by --ca)')
    .option('--ca <file>', 'CA the master is signed by (env TITAN_CA; default ~/.titan/certs/ca.crt)')
    .option('--cert <file>', 'this worker\'s certificate, for a master with --mtls; its CN is the worker id (env TITAN_CERT)')
    .option('--key <file>', 'this worker\'s private key (env TITAN_KEY)')
    .action(async (flags: WorkerFlags) => {
      const options = workerOptionsFrom(flags);
      const worker = new Worker(options, createLogger('worker', process.env.TITAN_LOG_LEVEL ?? 'info'));
      await worker.start();
      process.stdout.write(`titan worker ${worker.id} → ${options.masterHost}:${options.masterPort} tags=${options.tags.join(',')} slots=${options.slots}\n`);
      let stopping = false;
      const drain = (): void => {
        if (stopping) return;
        stopping = true;
        void worker.drain().then(() => process.exit(0));
      };
      process.once('SIGTERM', drain);
      process.once('SIGINT', drain);
      worker.onStopRequested = drain;
    });
}
