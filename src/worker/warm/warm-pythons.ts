/**
 * The worker's warm Python: one fork server for the interpreter its `.py` jobs run with
 * (`python3` on the worker's PATH, started with the jobs' base environment), kept ready and
 * replaced when it dies. `accepts` says which jobs it may fork: only those that would otherwise
 * start that very interpreter in that very startup state; every other job runs cold, as before.
 */
import { accessSync, closeSync, constants, existsSync, openSync, readSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Logger } from '../../common/log.js';
import { ErrorCode, TitanError } from '../../common/errors.js';
import type { Command } from '../interpreter.js';
import { ForkServer } from './fork-server.js';
import type { WarmChild } from './warm-child.js';
import { startupSignature } from './startup-env.js';
import { runnableBy, type RunAs } from './runnable-by.js';

export interface WarmPythonOptions {
  /** The environment every job starts from (the worker's base environment): the server's own. */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Where the server runs: the worker's work dir, which holds the job workspaces. */
  readonly cwd: string;
  /** Modules imported in the server, so jobs that import them pay nothing (`--python-preload`). */
  readonly preload?: readonly string[];
  /** A fork not answered within this long replaces the server; the job runs cold. Default 5000. */
  readonly forkTimeoutMs?: number;
  /** After a server died, how long before its replacement starts. Default 1000. */
  readonly restartDelayMs?: number;
  /** The user jobs run as when not the worker's: the server is the python3 on PATH that user can run. */
  readonly runAs?: RunAs | null;
  readonly log?: Logger | undefined;
}

/** What a forked child runs: the script and its arguments, without the interpreter's `-u` (it has it). */
export function warmArgv(command: Command): string[] {
  return command.argv.slice(1);
}

/** Files by which version managers (pyenv, asdf, mise) pick another Python for a folder. */
const VERSION_FILES = ['.python-version', '.tool-versions', '.mise.toml', 'mise.toml'];
/** More deaths than this within a minute and warm start is given up until the worker restarts. */
const MAX_DEATHS_PER_MINUTE = 5;

export class WarmPythons {
  readonly #options: WarmPythonOptions;
  readonly #signature: string;
  /** The python3 on the base PATH is a script (a version manager's shim), not the interpreter. */
  readonly #shim: boolean;
  /** The interpreter the server runs: the python3 a cold start of a job would find. */
  readonly #python: string;
  #server: ForkServer | null = null;
  #deaths: number[] = [];
  #disabled: string | null = null;
  #closed = false;
  #restart: NodeJS.Timeout | null = null;

  constructor(options: WarmPythonOptions) {
    this.#options = options;
    this.#signature = startupSignature(options.baseEnv);
    const python = findOnPath('python3', options.baseEnv.PATH ?? '', options.runAs ?? null);
    this.#shim = python === undefined || startsWithShebang(python);
    this.#python = python ?? 'python3';
  }

  /**
   * Starts the server. With modules to preload it waits for them and rejects with the reason one
   * could not be preloaded (missing, or it starts threads): the worker then refuses to start.
   * Without, it returns at once: until the server is ready, and if it cannot start, jobs run cold.
   */
  async start(): Promise<void> {
    await mkdir(this.#options.cwd, { recursive: true });
    const ready = this.#launch().ready;
    if ((this.#options.preload ?? []).length > 0) {
      return ready.catch((err: unknown) => {
        throw new TitanError(ErrorCode.INVALID_REQUEST, (err as Error).message);
      });
    }
    ready.catch((err: unknown) => this.#options.log?.warn({ event: 'warm-python', err: (err as Error).message }, 'no warm Python: .py jobs run cold'));
  }

  /** Resolves once the current server is ready (tests, bench); rejects when it could not start. */
  ready(): Promise<void> {
    return this.#server?.ready ?? Promise.reject(new Error(this.#disabled ?? 'no warm Python server'));
  }

  /** Why warm start is off, or null while it works. */
  get disabled(): string | null {
    return this.#disabled;
  }

  /** Whether this command for this job may be forked from the warm server instead of spawned. */
  accepts(command: Command, env: Readonly<Record<string, string>>, workspace: string, driver: string): boolean {
    if (this.#server?.isReady !== true || driver !== 'process') return false;
    if (command.file !== 'python3' || command.argv[0] !== '-u' || command.argv[1] === undefined) return false;
    if (startupSignature(env) !== this.#signature) return false;
    if (this.#shim && VERSION_FILES.some((name) => existsSync(join(workspace, name)))) return false;
    return !namesAnotherInterpreter(command.argv[1]);
  }

  /**
   * The environment a cold start would have given the job: its own, plus what the launcher of
   * python3 changed on the way (a pyenv shim sets PYENV_*, PATH and PWD; Python coerces a C locale
   * by setting LC_CTYPE), as the server saw it; a value naming the server's folder names the job's.
   */
  jobEnv(env: Readonly<Record<string, string>>, workspace: string): Record<string, string> {
    const started = this.#server?.startedWith;
    const out = { ...env };
    if (started === undefined) return out;
    const base = this.#options.baseEnv;
    for (const [key, value] of Object.entries(started.environ)) {
      if (base[key] !== value) out[key] = value === started.cwd ? workspace : value;
    }
    for (const key of Object.keys(base)) if (!(key in started.environ)) delete out[key];
    return out;
  }

  /** A forked child waiting for its job, or null when the server could not fork one (run the job cold). */
  fork(): Promise<WarmChild | null> {
    return this.#server?.fork() ?? Promise.resolve(null);
  }

  /** Stops the server (running jobs keep running: the executor stops them first). */
  close(): void {
    this.#closed = true;
    if (this.#restart !== null) clearTimeout(this.#restart);
    this.#server?.close();
    this.#server = null;
  }

  /** Test hook: the running server's pid. */
  get serverPid(): number | undefined {
    return this.#server?.isReady === true ? this.#server.pid : undefined;
  }

  #launch(): ForkServer {
    const { log } = this.#options;
    const server = new ForkServer({
      python: this.#python,
      env: this.#options.baseEnv,
      cwd: this.#options.cwd,
      preload: this.#options.preload ?? [],
      forkTimeoutMs: this.#options.forkTimeoutMs ?? 5_000,
      log,
    });
    this.#server = server;
    let wasReady = false;
    server.ready.then(
      () => (wasReady = true),
      () => undefined,
    );
    server.onDeath(() => {
      if (this.#server === server) this.#server = null;
      if (this.#closed) return;
      const now = Date.now();
      this.#deaths = [...this.#deaths.filter((t) => now - t < 60_000), now];
      if (!wasReady || this.#deaths.length > MAX_DEATHS_PER_MINUTE) {
        this.#disabled = wasReady ? `the warm Python server died ${this.#deaths.length} times within a minute` : 'the warm Python server could not start';
        // A preload that fails is the worker's start error, said once by start().
        if (!wasReady && (this.#options.preload ?? []).length > 0) return;
        log?.error({ event: 'warm-python' }, `${this.#disabled}; .py jobs run cold from now on`);
        return;
      }
      log?.warn({ event: 'warm-python', pid: server.pid }, 'the warm Python server died; starting another (jobs run cold meanwhile)');
      this.#restart = setTimeout(() => {
        this.#restart = null;
        if (!this.#closed) this.#launch().ready.catch(() => undefined);
      }, this.#options.restartDelayMs ?? 1_000);
      this.#restart.unref();
    });
    return server;
  }
}

function findOnPath(name: string, path: string, runAs: RunAs | null): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (runAs !== null && !runnableBy(file, runAs)) continue;
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function firstBytes(file: string, count: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buffer = Buffer.alloc(count);
    return buffer.subarray(0, readSync(fd, buffer, 0, count, 0)).toString('latin1');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function startsWithShebang(file: string): boolean {
  return firstBytes(file, 2) === '#!';
}

/** A script whose `#!` line names an interpreter other than the `python3` (or `python`) found on PATH. */
function namesAnotherInterpreter(script: string): boolean {
  const head = firstBytes(script, 256);
  if (!head.startsWith('#!')) return false;
  const line = head.slice(2).split('\n')[0]?.trim() ?? '';
  return !/^\/usr\/bin\/env\s+python3?$/.test(line);
}
