import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TitanError, ErrorCode } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import { WORKER_DEFAULTS, type WorkerOptions } from '../worker/options.js';
import { Worker } from '../worker/worker.js';
import { isolationOptionsFrom, type IsolationFlags } from './worker-isolation-flags.js';
import { parseHostPort, parseTags, positiveInt, resolveMasterAddress, titanHome } from './settings.js';
import { INFERENCE_AGENT_DEFAULTS, type InferenceAgentOptions } from '../inference/agent.js';
import { resolveTls } from '../sdk/address.js';
import { certificateCommonName } from '../security/tls-env.js';
import { parseLogSize } from '../common/log-cap.js';
import { parseDuration } from '../common/when.js';
import { GENERAL } from '../core/requirement.js';

export interface WorkerFlags extends IsolationFlags {
  master?: string;
  token?: string;
  tokenFile?: string;
  jobUser?: string;
  tags?: string;
  slots?: string;
  workDir?: string;
  id?: string;
  drainGrace?: string;
  inference?: string;
  inferenceListen?: string;
  inferenceAdvertise?: string;
  inferenceMaxConcurrency?: string;
  inferenceTimeout?: string;
  vramTotalMb?: string;
  vramFreeMb?: string;
  spawnable?: boolean;
  spawnTags?: string;
  spawnSlots?: string;
  spawnMin?: string;
  spawnMax?: string;
  spawnedBy?: string;
  tls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  warm?: boolean;
  pythonPreload?: string;
  maxLogSize?: string;
  retention?: string;
}

function positiveDuration(flag: string, text: string): number {
  const ms = parseDuration(text, flag);
  if (ms <= 0) throw new TitanError(ErrorCode.INVALID_REQUEST, `${flag} must be above 0 (e.g. 7d or 12h), got "${text}"`);
  return ms;
}

/** The --inference* flags (env TITAN_INFERENCE for the server URL); undefined without --inference. */
export function inferenceOptionsFrom(flags: WorkerFlags, env: NodeJS.ProcessEnv = process.env): InferenceAgentOptions | undefined {
  const serverUrl = flags.inference ?? env.TITAN_INFERENCE;
  if (serverUrl === undefined) return undefined;
  try {
    new URL(serverUrl);
  } catch {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `--inference ${serverUrl} is not a URL: give the Ollama-compatible server, e.g. http://127.0.0.1:11434`);
  }
  const d = INFERENCE_AGENT_DEFAULTS;
  const listen = parseHostPort(flags.inferenceListen ?? env.TITAN_INFERENCE_LISTEN ?? `${d.listenHost}:${d.listenPort}`, d.listenPort);
  const mb = (flag: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new TitanError(ErrorCode.INVALID_REQUEST, `${flag} ${value}: give megabytes, 0 or more`);
    return n;
  };
  const vramTotalMb = mb('--vram-total-mb', flags.vramTotalMb);
  const vramFreeMb = mb('--vram-free-mb', flags.vramFreeMb);
  const advertise = flags.inferenceAdvertise ?? env.TITAN_INFERENCE_ADVERTISE;
  return {
    serverUrl,
    listenHost: listen.host,
    listenPort: listen.port,
    maxConcurrency: flags.inferenceMaxConcurrency !== undefined ? positiveInt('--inference-max-concurrency', flags.inferenceMaxConcurrency) : d.maxConcurrency,
    requestTimeoutMs: flags.inferenceTimeout !== undefined ? positiveInt('--inference-timeout', flags.inferenceTimeout) : d.requestTimeoutMs,
    ...(vramTotalMb !== undefined ? { vramTotalMb } : {}),
    ...(vramFreeMb !== undefined ? { vramFreeMb } : {}),
    ...(advertise !== undefined ? { advertiseHost: advertise } : {}),
  };
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
    if (stray !== undefined)
      throw new TitanError(ErrorCode.INVALID_REQUEST, `--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} only applies with --spawnable`);
    return undefined;
  }
  const min = countFlag('--spawn-min', flags.spawnMin ?? '0');
  const max = countFlag('--spawn-max', flags.spawnMax ?? String(WORKER_DEFAULTS.spawnMax));
  if (min > max) throw new TitanError(ErrorCode.INVALID_REQUEST, `--spawn-min ${min} is above --spawn-max ${max}`);
  return {
    tags: parseTags(flags.spawnTags).filter((t) => t !== GENERAL),
    slots: flags.spawnSlots !== undefined ? positiveInt('--spawn-slots', flags.spawnSlots) : slots,
    min,
    max,
    command: [process.execPath, MAIN],
    stopGraceMs: WORKER_DEFAULTS.drainGraceMs + WORKER_DEFAULTS.killGraceMs,
  };
}

/** --token, else --token-file / TITAN_TOKEN_FILE, else what resolveMasterAddress finds (TITAN_TOKEN, the local data dir). */
function tokenFrom(flags: WorkerFlags, env: NodeJS.ProcessEnv): string | undefined {
  if (flags.token !== undefined) return flags.token;
  const file = flags.tokenFile ?? env.TITAN_TOKEN_FILE;
  if (file === undefined) return undefined;
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `--token-file ${file}: ${(err as Error).message}; give the file holding the cluster token (the master's <data dir>/token)`,
    );
  }
  if (token === '')
    throw new TitanError(ErrorCode.INVALID_REQUEST, `--token-file ${file} is empty; it should hold the cluster token (the master's <data dir>/token)`);
  return token;
}

export function workerOptionsFrom(flags: WorkerFlags, env: NodeJS.ProcessEnv = process.env): WorkerOptions {
  const token = tokenFrom(flags, env);
  const address = resolveMasterAddress(
    {
      ...(flags.master !== undefined ? { master: flags.master } : {}),
      ...(token !== undefined ? { token } : {}),
    },
    env,
  );
  const tls = resolveTls(flags, env);
  const inference = inferenceOptionsFrom(flags, env);
  const slots = flags.slots !== undefined ? positiveInt('--slots', flags.slots) : WORKER_DEFAULTS.slots;
  const spawn = spawnOptionsFrom(flags, slots);
  // Under mTLS the master knows this worker by its certificate's CN, so that is its id by default.
  const maxLogSize = flags.maxLogSize ?? env.TITAN_MAX_LOG_SIZE;
  const retention = flags.retention ?? env.TITAN_RETENTION;
  const id = flags.id ?? env.TITAN_WORKER_ID ?? (tls?.cert !== undefined ? certificateCommonName(tls.cert) : undefined);
  return {
    masterHost: address.host,
    masterPort: address.port,
    masters: address.masters,
    token: address.token,
    workDir: flags.workDir ?? env.TITAN_WORK_DIR ?? join(titanHome(env), 'worker'),
    tags: parseTags(flags.tags ?? env.TITAN_TAGS),
    slots,
    drainGraceMs: flags.drainGrace !== undefined ? positiveInt('--drain-grace', flags.drainGrace) : WORKER_DEFAULTS.drainGraceMs,
    killGraceMs: WORKER_DEFAULTS.killGraceMs,
    reconnectMinMs: WORKER_DEFAULTS.reconnectMinMs,
    reconnectMaxMs: WORKER_DEFAULTS.reconnectMaxMs,
    ...(id !== undefined ? { workerId: id } : {}),
    ...isolationOptionsFrom(flags),
    ...(inference !== undefined ? { inference } : {}),
    ...(spawn !== undefined ? { spawn } : {}),
    ...(flags.spawnedBy !== undefined ? { spawnedBy: flags.spawnedBy } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(flags.warm === false ? { warmPython: false } : {}),
    ...pythonPreloadFrom(flags, env),
    ...(flags.jobUser !== undefined ? { jobUser: flags.jobUser } : {}),
    ...(maxLogSize !== undefined ? { maxLogBytes: parseLogSize('--max-log-size', maxLogSize) } : {}),
    ...(retention !== undefined ? { retentionMs: positiveDuration('--retention', retention) } : {}),
  };
}

/** `--python-preload numpy,pandas` (env TITAN_PYTHON_PRELOAD): module names, checked before any Python starts. */
export function pythonPreloadFrom(flags: WorkerFlags, env: NodeJS.ProcessEnv): Pick<WorkerOptions, 'pythonPreload'> {
  const given = flags.pythonPreload ?? env.TITAN_PYTHON_PRELOAD;
  if (given === undefined) return {};
  const modules = given
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  const bad = modules.find((m) => !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(m));
  if (bad !== undefined)
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `--python-preload: "${bad}" is not a Python module name; give dotted names separated by commas, e.g. numpy,pandas`,
    );
  if (flags.warm === false && modules.length > 0)
    throw new TitanError(ErrorCode.INVALID_REQUEST, '--python-preload needs the warm interpreter that --no-warm turns off; drop one of them');
  return { pythonPreload: modules };
}

/**
 * The token leaves the environment once read, so nothing the worker starts inherits it. That does
 * not rewrite /proc/<pid>/environ (the kernel shows the environment the process was started with):
 * what keeps jobs from reading that is their running as another user (--job-user).
 */
function forgetToken(flags: WorkerFlags, env: NodeJS.ProcessEnv): void {
  delete env.TITAN_TOKEN;
  delete env.TITAN_TOKEN_FILE;
  if (flags.token !== undefined) {
    process.stderr.write(
      'titan worker: --token puts the cluster token on the command line, where any user of this host can read it (ps, /proc/<pid>/cmdline); use --token-file <file> or TITAN_TOKEN instead\n',
    );
  }
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker that dials the master and runs jobs')
    .option('--master <host:port,...>', 'master address, or several (a:9090,b:9090: the worker registers with the leader among them) (env TITAN_MASTER)')
    .option('--token <token>', 'cluster token (visible to every user in ps: prefer --token-file or env TITAN_TOKEN)')
    .option('--token-file <file>', "read the cluster token from this file, e.g. the master's <data dir>/token (env TITAN_TOKEN_FILE)")
    .option(
      '--job-user <user>',
      'run jobs as this user (name or uid:gid); default titan-job when the worker runs as root (created if missing); worker: as the worker itself',
    )
    .option('--tags <list>', `capabilities, comma separated, e.g. GPU,HIGH_MEM (${GENERAL} is implied)`)
    .option('--slots <n>', 'jobs run at once', String(WORKER_DEFAULTS.slots))
    .option('--work-dir <dir>', 'job workspaces, logs and the pid registry (env TITAN_WORK_DIR)')
    .option('--id <id>', 'worker id (default: kept in the work dir)')
    .option('--drain-grace <ms>', 'on SIGTERM, how long running jobs may take to finish')
    .option('--driver <name>', 'how jobs run: process (default), sandbox (bwrap namespaces) or docker')
    .option('--allow-drivers <list>', 'further drivers jobs may ask for, e.g. sandbox,docker')
    .option('--limits <mode>', 'enforce job limits with auto (cgroups, else rlimits), cgroup, rlimit or none', 'auto')
    .option('--pids-limit <n>', 'processes per job at most (gives every job a cgroup); 0: none')
    .option('--inherit-env', "jobs inherit the worker's whole environment, not only PATH, HOME, locale and TZ")
    .option('--cpus <n>', "CPU cores to advertise (default: the host's)")
    .option('--memory <size>', "memory to advertise, e.g. 8G (default: the host's)")
    .option('--gpus <n>', 'GPUs to advertise (default: counted from the NVIDIA driver)')
    .option('--docker-socket <path>', 'Docker Engine socket for the docker driver', '/var/run/docker.sock')
    .option('--inference <url>', 'serve LLM inference from this Ollama-compatible server (env TITAN_INFERENCE), e.g. http://127.0.0.1:11434')
    .option(
      '--inference-listen <host:port>',
      `the inference gateway's address (default ${INFERENCE_AGENT_DEFAULTS.listenHost}:${INFERENCE_AGENT_DEFAULTS.listenPort}; port 0 picks one)`,
    )
    .option('--inference-advertise <host>', 'the host clients dial for the gateway (default: the address the master sees)')
    .option('--inference-max-concurrency <n>', `inference requests at once (default ${INFERENCE_AGENT_DEFAULTS.maxConcurrency})`)
    .option('--inference-timeout <ms>', 'an inference request whose server makes no progress for this long counts as a timeout (default 300000)')
    .option('--vram-total-mb <mb>', 'VRAM to report instead of asking nvidia-smi')
    .option('--vram-free-mb <mb>', 'free VRAM to report with --vram-total-mb')
    .option('--spawnable', "also start worker processes on this host when the master's autoscaler asks")
    .option('--spawn-tags <list>', 'with --spawnable: tags a spawned worker may carry, e.g. GPU')
    .option('--spawn-slots <n>', 'with --spawnable: slots of a spawned worker (default: --slots)')
    .option('--spawn-min <n>', 'with --spawnable: spawned workers kept even when idle (default 0)')
    .option('--spawn-max <n>', 'with --spawnable: most spawned workers at once (default 4)')
    .option('--spawned-by <host>', 'mark this worker as auto-scaled: the master retires it when idle (set by the host)')
    .option('--no-warm', 'spawn a new python3 for every .py job instead of forking it from a warm interpreter')
    .option('--python-preload <modules>', 'modules the warm interpreter imports once for all .py jobs, e.g. numpy,pandas (env TITAN_PYTHON_PRELOAD)')
    .option(
      '--max-log-size <size>',
      'most output an attempt sends to the master and keeps in its log files, e.g. 64M (the default); a marker line shows the cut (env TITAN_MAX_LOG_SIZE)',
    )
    .option('--retention <duration>', 'remove job workspaces and DAG shared folders untouched this long, e.g. 7d (the default) (env TITAN_RETENTION)')
    .option('--tls', 'dial the master over TLS (env TITAN_TLS=1; implied by --ca)')
    .option('--ca <file>', 'CA the master is signed by (env TITAN_CA; default ~/.titan/certs/ca.crt)')
    .option('--cert <file>', "this worker's certificate, for a master with --mtls; its CN is the worker id (env TITAN_CERT)")
    .option('--key <file>', "this worker's private key (env TITAN_KEY)")
    .action(async (flags: WorkerFlags) => {
      const options = workerOptionsFrom(flags);
      forgetToken(flags, process.env);
      const worker = new Worker(options, createLogger('worker', process.env.TITAN_LOG_LEVEL ?? 'info'));
      await worker.start();
      if (options.inference !== undefined)
        process.stdout.write(`inference gateway on http://${options.inference.listenHost}:${worker.inferencePort} → ${options.inference.serverUrl}\n`);
      process.stdout.write(
        `titan worker ${worker.id} → ${options.masterHost}:${options.masterPort} tags=${options.tags.join(',')} slots=${options.slots}${options.spawn !== undefined ? ` spawnable(tags=${options.spawn.tags.join(',') || GENERAL} max=${options.spawn.max})` : ''}\n`,
      );
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
