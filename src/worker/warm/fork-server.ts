/**
 * One warm Python process (fork_server.py) and the jobs forked from it: starts it, asks it for
 * children, routes their exits, and notices when it dies or stops answering. A server that fails
 * is never repaired: the pool replaces it, and jobs it could not fork run cold.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../common/log.js';
import { WarmChild } from './warm-child.js';

export interface ForkServerOptions {
  /** The interpreter as jobs name it (resolved through env.PATH, as a job's spawn does). */
  readonly python: string;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly preload: readonly string[];
  /** A fork not answered within this long marks the server wedged. */
  readonly forkTimeoutMs: number;
  readonly log?: Logger | undefined;
}

type Message =
  | { op: 'ready'; pid: number; executable: string; version: string; warnings: string[]; environ: Record<string, string>; cwd: string }
  | { op: 'failed'; error: string }
  | { op: 'forked'; id: number; pid: number; out: number; err: number; spec: number }
  | { op: 'exit'; pid: number; code: number | null; signal: NodeJS.Signals | null };

/** fork_server.py ships next to this file's source: in src/ for a checkout and in the npm package. */
export function forkServerScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'fork_server.py'), join(here, '..', '..', '..', '..', 'src', 'worker', 'warm', 'fork_server.py')];
  const found = candidates.find((file) => existsSync(file));
  if (found === undefined) throw new Error(`fork_server.py not found (looked in ${candidates.join(', ')}); reinstall titan`);
  return found;
}

export class ForkServer {
  readonly #process: ChildProcess;
  readonly #pending = new Map<number, (child: WarmChild | null) => void>();
  readonly #children = new Map<number, WarmChild>();
  readonly #ready: Promise<void>;
  #serverPid = 0;
  #nextId = 1;
  #buffer = '';
  #dead: string | null = null;
  #onDeath: (() => void) | undefined;
  #settle!: { resolve: () => void; reject: (err: Error) => void };
  /** The server's own environment and folder as it found them once started (see WarmPythons.jobEnv). */
  startedWith: { readonly environ: Readonly<Record<string, string>>; readonly cwd: string } | undefined;

  constructor(private readonly options: ForkServerOptions) {
    const args = ['-u', forkServerScript(), ...(options.preload.length > 0 ? ['--preload', options.preload.join(',')] : [])];
    this.#process = spawn(options.python, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#ready = new Promise<void>((resolve, reject) => (this.#settle = { resolve, reject }));
    this.#ready.catch(() => undefined);
    this.#process.stdout?.setEncoding('utf8');
    this.#process.stdout?.on('data', (chunk: string) => this.#receive(chunk));
    this.#process.stderr?.on('data', (chunk: Buffer) =>
      options.log?.warn({ event: 'warm-python', output: chunk.toString().trimEnd() }, 'warm Python server wrote to stderr'),
    );
    this.#process.stdin?.on('error', () => undefined); // its death is handled on exit
    this.#process.once('error', (err) => this.#die(`could not start ${options.python}: ${err.message}`));
    this.#process.once('exit', (code, signal) => this.#die(`it exited (${signal ?? `code ${String(code)}`})`));
  }

  /** Resolves once the server has imported its preloads; rejects naming why it could not. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  get alive(): boolean {
    return this.#dead === null;
  }

  get isReady(): boolean {
    return this.#serverPid !== 0 && this.#dead === null;
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Called once when the server dies or is stopped. */
  onDeath(callback: () => void): void {
    this.#onDeath = callback;
  }

  /** A child waiting for its job, or null when the server could not fork one in time (it is then stopped). */
  fork(): Promise<WarmChild | null> {
    if (!this.isReady) return Promise.resolve(null);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve(null);
        this.stop(`it did not fork a job within ${this.options.forkTimeoutMs} ms`);
      }, this.options.forkTimeoutMs);
      this.#pending.set(id, (child) => {
        clearTimeout(timer);
        resolve(child);
      });
      this.#process.stdin?.write(`${JSON.stringify({ op: 'fork', id })}\n`);
    });
  }

  /** Kills the server; its running jobs are stopped and reported lost. */
  stop(reason = 'the worker stopped it'): void {
    if (this.#dead !== null) return;
    this.#process.kill('SIGKILL');
    this.#die(reason);
  }

  /** Lets the server exit once the worker is done with it (running jobs keep their pipes). */
  close(): void {
    this.#process.stdin?.end();
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    let newline: number;
    while ((newline = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      let message: Message;
      try {
        message = JSON.parse(line) as Message;
      } catch {
        this.stop(`it printed something that is not its protocol: ${line.slice(0, 200)}`);
        return;
      }
      this.#handle(message);
    }
  }

  #handle(message: Message): void {
    switch (message.op) {
      case 'ready':
        this.#serverPid = message.pid;
        this.startedWith = { environ: message.environ, cwd: message.cwd };
        for (const warning of message.warnings) this.options.log?.warn({ event: 'warm-python' }, warning);
        this.options.log?.info(
          { event: 'warm-python', pid: message.pid, executable: message.executable, version: message.version, preload: this.options.preload },
          'warm Python ready',
        );
        this.#settle.resolve();
        return;
      case 'failed':
        this.#die(message.error);
        return;
      case 'forked':
        this.#forked(message);
        return;
      case 'exit': {
        const child = this.#children.get(message.pid);
        this.#children.delete(message.pid);
        child?.exited(message.code, message.signal);
        return;
      }
    }
  }

  #forked(message: Extract<Message, { op: 'forked' }>): void {
    const resolve = this.#pending.get(message.id);
    this.#pending.delete(message.id);
    let child: WarmChild | null = null;
    try {
      child = new WarmChild({ serverPid: this.#serverPid, ...message });
    } catch (err) {
      this.options.log?.warn({ event: 'warm-python', err }, "could not open a forked job's pipes; running it cold");
      killQuietly(message.pid);
    }
    this.#process.stdin?.write(`${JSON.stringify({ op: 'release', id: message.id })}\n`);
    if (child === null) {
      resolve?.(null);
      return;
    }
    if (resolve === undefined) {
      child.discard(); // the fork came after its deadline: the job already ran cold
      return;
    }
    this.#children.set(child.pid, child);
    resolve(child);
  }

  #die(reason: string): void {
    if (this.#dead !== null) return;
    this.#dead = reason;
    this.#settle.reject(new Error(reason)); // no effect once it was ready
    for (const resolve of this.#pending.values()) resolve(null);
    this.#pending.clear();
    for (const child of this.#children.values()) {
      child.lost(`the warm Python server running it (pid ${String(this.#process.pid)}) died: ${reason}; its exit status is lost, so the job was stopped`);
    }
    this.#children.clear();
    this.#onDeath?.();
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
