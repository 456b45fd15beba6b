import { after, before } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TitanClient } from '../src/sdk/client.js';
import { PidRegistry } from '../src/worker/pid-registry.js';

export const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
export const TOKEN = 'test-token-0123456789';

/** Resolves with the first line matching re on the stream, or rejects after the deadline. */
/** Resolves with the first match of `re` in what the child prints on stdout; rejects when it exits first or the time runs out. */
export function awaitLine(child: ChildProcess, re: RegExp, timeoutMs: number, what: string): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no line matching ${String(re)} within ${timeoutMs} ms; output so far:\n${buffer}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString();
      const match = re.exec(buffer);
      if (match !== null) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(match);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${String(code)}) before printing ${String(re)}; output:\n${buffer}`));
    });
  });
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? ` (last error: ${String(last)})` : ''}`);
}

export interface WorkerHandle {
  readonly id: string;
  readonly workDir: string;
  readonly process: ChildProcess;
}

/**
 * A real cluster for end-to-end tests: master and workers are separate `titan` processes on
 * loopback, in a temp dir; close() kills every process it started (by PID) and removes the dir.
 */
export class Cluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'titan-e2e-'));
  readonly dataDir = join(this.dir, 'master');
  port = 0;
  /** The master's HTTP port; kept across restarts like the TCP port. */
  httpPort = 0;
  /** The gRPC port, when the master was started with --grpc. */
  grpcPort = 0;
  master: ChildProcess | null = null;
  private readonly children = new Set<ChildProcess>();
  private readonly workerProcesses = new Map<string, ChildProcess>();
  private readonly clients: TitanClient[] = [];
  private readonly workDirs = new Set<string>();
  /** The cluster token; with `secretsOffCommandLines` the master's generated one, read from its data dir. */
  token = TOKEN;

  /** `secretsOffCommandLines`: the master generates its token and workers read it with --token-file,
   * so no command line holds it (as `titan up` does). */
  constructor(
    private readonly heartbeatTimeoutMs = 30_000,
    private readonly secretsOffCommandLines = false,
  ) {
    // A root worker runs jobs as titan-job: it must pass through to its workspace, and tests'
    // jobs leave marker files here. Sticky, so a job cannot move or delete what it does not own.
    chmodSync(this.dir, 0o1777);
  }

  /** A folder in the cluster dir that jobs may write (they run as titan-job under a root worker). */
  sharedFolder(name: string): string {
    const dir = join(this.dir, name);
    mkdirSync(dir);
    chmodSync(dir, 0o1777);
    return dir;
  }

  /** What the current master printed on stderr: its structured log, one JSON object a line (TITAN_LOG_LEVEL=warn). */
  masterLog = '';

  /** `env`: extra environment for the master process (e.g. TITAN_LOG_LEVEL=info to see its info lines in masterLog). */
  async startMaster(extraArgs: readonly string[] = [], env: Record<string, string> = {}): Promise<void> {
    const token = this.secretsOffCommandLines ? [] : ['--token', TOKEN];
    const child = this.spawnTitan(
      [
        'master',
        '--listen',
        `127.0.0.1:${this.port}`,
        '--data-dir',
        this.dataDir,
        ...token,
        '--heartbeat-interval',
        '200',
        '--heartbeat-timeout',
        String(this.heartbeatTimeoutMs),
        '--http',
        `127.0.0.1:${this.httpPort}`,
        ...extraArgs,
      ],
      env,
    );
    this.master = child;
    this.masterLog = '';
    child.stderr?.on('data', (c: Buffer) => (this.masterLog += c.toString()));
    const grpc = extraArgs.includes('--grpc') ? /[\s\S]*grpc coordinator on [^\n]*:(\d+)\n/.source : '';
    const match = await awaitLine(
      child,
      new RegExp(/listening on 127\.0\.0\.1:(\d+)[^\n]*\nhttp api and dashboard on https?:\/\/127\.0\.0\.1:(\d+)/.source + grpc),
      15_000,
      'master',
    );
    this.port = Number(match[1]);
    this.httpPort = Number(match[2]);
    if (match[3] !== undefined) this.grpcPort = Number(match[3]);
    if (this.secretsOffCommandLines) this.token = readFileSync(join(this.dataDir, 'token'), 'utf8').trim();
  }

  killMaster(): Promise<void> {
    const master = this.master;
    this.master = null;
    return master === null ? Promise.resolve() : killAndWait(master, 'SIGKILL');
  }

  /** Starts a worker process; unless `registered: false`, resolves once the master lists it. */
  async startWorker(
    id: string,
    options: { tags?: string; slots?: number; workDir?: string; registered?: boolean; args?: readonly string[]; tokenInEnv?: boolean } = {},
  ): Promise<WorkerHandle> {
    const workDir = options.workDir ?? join(this.dir, 'workers', id);
    const token = options.tokenInEnv === true ? [] : this.secretsOffCommandLines ? ['--token-file', join(this.dataDir, 'token')] : ['--token', TOKEN];
    const args = [
      'worker',
      '--master',
      `127.0.0.1:${this.port}`,
      ...token,
      '--id',
      id,
      '--work-dir',
      workDir,
      '--slots',
      String(options.slots ?? 4),
      '--drain-grace',
      '5000',
    ];
    if (options.tags !== undefined) args.push('--tags', options.tags);
    args.push(...(options.args ?? []));
    this.workDirs.add(workDir);
    const child = this.spawnTitan(args, options.tokenInEnv === true ? { TITAN_TOKEN: this.token } : {});
    this.workerProcesses.set(id, child);
    if (options.registered === false) return { id, workDir, process: child };
    const client = await this.client();
    await until(`worker ${id} to register`, async () => (await client.stats()).workers.some((w) => w.id === id && w.health === 'healthy'));
    return { id, workDir, process: child };
  }

  /** SIGKILLs the last worker process started under this id. */
  async killWorker(id: string): Promise<void> {
    const child = this.workerProcesses.get(id);
    if (child !== undefined) await killAndWait(child, 'SIGKILL');
  }

  async client(): Promise<TitanClient> {
    const client = await TitanClient.connect({ host: '127.0.0.1', port: this.port, token: this.token });
    this.clients.push(client);
    return client;
  }

  /** Runs the CLI to completion and returns what it printed. */
  cli(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const [command, ...rest] = args;
    return outputOf(this.spawnTitan([command ?? '', '--master', `127.0.0.1:${this.port}`, ...rest], { TITAN_TOKEN: this.token, ...env }));
  }

  /** Creates an API token with `titan token create` and returns its secret. */
  async apiToken(name: string, role: 'admin' | 'operator' | 'viewer', namespace?: string): Promise<string> {
    const out = await this.cli(['token', 'create', '--role', role, '--name', name, ...(namespace !== undefined ? ['--namespace', namespace] : []), '--json']);
    if (out.code !== 0) throw new Error(`titan token create ${name} failed: ${out.stderr}`);
    return (JSON.parse(out.stdout) as { token: string }).token;
  }

  /** A client connected with this token (closed with the cluster). */
  async clientWith(token: string): Promise<TitanClient> {
    const client = await TitanClient.connect({ host: '127.0.0.1', port: this.port, token });
    this.clients.push(client);
    return client;
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
    await Promise.all([...this.children].map((c) => killAndWait(c, 'SIGKILL')));
    // Jobs run in their own process groups and outlive a SIGKILLed worker; reap them by their records.
    for (const workDir of this.workDirs) await PidRegistry.killOrphans(join(workDir, 'pids.json'));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawnTitan(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TITAN_HOME: this.dir, TITAN_LOG_LEVEL: 'warn', ...env },
    });
    child.stderr?.on('data', (c: Buffer) => {
      if (process.env.TITAN_TEST_VERBOSE) process.stderr.write(c);
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }
}

/**
 * For the enclosing describe(): a master and one 4-slot worker (with `workerArgs`), started before its tests and
 * closed after them; `client` is connected with the cluster token once they run.
 */
export function clusterForSuite(
  workerId: string,
  workerArgs: readonly string[] = [],
): { readonly cluster: Cluster; readonly client: TitanClient; reconnect(): Promise<void> } {
  const cluster = new Cluster();
  let client: TitanClient | undefined;
  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker(workerId, { slots: 4, args: workerArgs });
    client = await cluster.client();
  });
  after(() => cluster.close());
  return {
    cluster,
    get client(): TitanClient {
      if (client === undefined) throw new Error('the suite cluster is not started yet: use client inside a test');
      return client;
    },
    /** After the master restarted: `client` is a new connection to it. */
    async reconnect(): Promise<void> {
      client = await cluster.client();
    },
  };
}

/** Resolves with the error code a promise rejects with ('resolved' when it does not reject). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  return 'resolved';
}

/** Everything a child process prints, with its exit code, once it exits. */
export function outputOf(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export function killAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
