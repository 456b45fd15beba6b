import type { Command } from 'commander';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TitanError, ErrorCode } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import { WORKER_DEFAULTS, type WorkerOptions } from '../worker/options.js';
import { Worker } from '../worker/worker.js';
import { parseTags, positiveInt, resolveMasterAddress, titanHome } from './settings.js';

interface WorkerFlags {
  master?: string;
  token?: string;
  tags?: string;
  slots?: string;
  workDir?: string;
  id?: string;
  drainGrace?: string;
  spawnable?: boolean;
  spawnTags?: string;
  spawnSlots?: string;
  spawnMin?: string;
  spawnMax?: string;
  spawnedBy?: string;
}

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function countFlag(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new TitanError(ErrorCode.INVALID_REQUEST, `${name} must be a whole number of workers (0 or more), got "${value}"`);
  return n;
}

/** `--spawnable`: what this host may start when the master's autoscaler asks for a worker. */
function spawnOptionsFrom(flags: WorkerFlags, slots: number): WorkerOptions['spawn'] {
  if (flags.spawnable !== true) {
    const stray = (['spawnTags', 'spawnSlots', 'spawnMin', 'spawnMax'] as const).find((k) => flags[k] !== undefined);
    if (stray !== undefined) throw new TitanError(ErrorCode.INVALID_REQUEST, `--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} only applies with --spawnable`);
    return undefined;
  }
  const min = countFlag('--spawn-min', flags.spawnMin ?? '0');
  const max = countFlag('--spawn-max', flags.spawnMax ?? String(WORKER_DEFAULTS.spawnMax));
  if (min > max) throw new TitanError(ErrorCode.INVALID_REQUEST, `--spawn-min ${min} is above --spawn-max ${max}`);
  return {
    tags: parseTags(flags.spawnTags).filter((t) => t !== 'GENERAL'),
    slots: flags.spawnSlots !== undefined ? positiveInt('--spawn-slots', flags.spawnSlots) : slots,
    min,
    max,
    command: [process.execPath, MAIN],
    stopGraceMs: WORKER_DEFAULTS.drainGraceMs + WORKER_DEFAULTS.killGraceMs,
  };
}

export function workerOptionsFrom(flags: WorkerFlags, env: NodeJS.ProcessEnv = process.env): WorkerOptions {
  const address = resolveMasterAddress({
    ...(flags.master !== undefined ? { master: flags.master } : {}),
    ...(flags.token !== undefined ? { token: flags.token } : {}),
  }, env);
  const id = flags.id ?? env.TITAN_WORKER_ID;
  const slots = flags.slots !== undefined ? positiveInt('--slots', flags.slots) : WORKER_DEFAULTS.slots;
  const spawn = spawnOptionsFrom(flags, slots);
  return {
    masterHost: address.host,
    masterPort: address.port,
    token: address.token,
    workDir: flags.workDir ?? env.TITAN_WORK_DIR ?? join(titanHome(env), 'worker'),
    tags: parseTags(flags.tags ?? env.TITAN_TAGS),
    slots,
    drainGraceMs: flags.drainGrace !== undefined ? positiveInt('--drain-grace', flags.drainGrace) : WORKER_DEFAULTS.drainGraceMs,
    killGraceMs: WORKER_DEFAULTS.killGraceMs,
    reconnectMinMs: WORKER_DEFAULTS.reconnectMinMs,
    reconnectMaxMs: WORKER_DEFAULTS.reconnectMaxMs,
    ...(id !== undefined ? { workerId: id } : {}),
    ...(spawn !== undefined ? { spawn } : {}),
    ...(flags.spawnedBy !== undefined ? { spawnedBy: flags.spawnedBy } : {}),
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
    .option('--spawnable', 'also start worker processes on this host when the master\'s autoscaler asks')
    .option('--spawn-tags <list>', 'with --spawnable: tags a spawned worker may carry, e.g. GPU')
    .option('--spawn-slots <n>', 'with --spawnable: slots of a spawned worker (default: --slots)')
    .option('--spawn-min <n>', 'with --spawnable: spawned workers kept even when idle (default 0)')
    .option('--spawn-max <n>', 'with --spawnable: most spawned workers at once (default 4)')
    .option('--spawned-by <host>', 'mark this worker as auto-scaled: the master retires it when idle (set by the host)')
    .action(async (flags: WorkerFlags) => {
      const options = workerOptionsFrom(flags);
      const worker = new Worker(options, createLogger('worker', process.env.TITAN_LOG_LEVEL ?? 'info'));
      await worker.start();
      process.stdout.write(`titan worker ${worker.id} → ${options.masterHost}:${options.masterPort} tags=${options.tags.join(',')} slots=${options.slots}${options.spawn !== undefined ? ` spawnable(tags=${options.spawn.tags.join(',') || 'GENERAL'} max=${options.spawn.max})` : ''}\n`);
      let stopping = false;
      const drain = (): void => {
        if (stopping) return;
        stopping = true;
        void worker.drain().then(() => process.exit(0));
      };
      process.once('SIGTERM', drain);
      process.once('SIGINT', drain);
      // Spawned by a host (with an IPC channel): leave with it.
      if (process.send !== undefined) process.once('disconnect', drain);
      worker.onStopRequested = drain;
    });
}
